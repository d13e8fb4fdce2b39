-- The database's epoch: a random id made with the database and renewed
-- (`fieldsync-server new-epoch`) after it is restored from a backup. Devices
-- carry it in their cursor; a cursor of another epoch is reset. (A promoted
-- replica also changes PostgreSQL's timeline, which the server appends.)
CREATE TABLE server_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch TEXT NOT NULL
);
INSERT INTO server_epoch (id, epoch) VALUES (1, substr(md5(random()::text || clock_timestamp()::text), 1, 16));
