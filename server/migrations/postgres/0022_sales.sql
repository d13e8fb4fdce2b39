-- Monthly sales per dealer (issue 10): head office or the dealer's regional manager sets a
-- target; the actual is entered by a manager of the dealer's territory or imported by head
-- office from a CSV. One currency per dealer and month. The dealer's territory is read from
-- rm_dealers, so a row never disagrees with the dealer's document.
CREATE TABLE sales (
    dealer        TEXT NOT NULL,
    month         TEXT NOT NULL,
    currency      TEXT NOT NULL,
    target_minor  BIGINT,
    target_by     TEXT,
    target_at     BIGINT,
    actual_minor  BIGINT,
    actual_source TEXT,
    actual_by     TEXT,
    actual_at     BIGINT,
    PRIMARY KEY (dealer, month)
);
CREATE INDEX sales_month ON sales(month);
