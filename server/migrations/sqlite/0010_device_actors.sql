-- Each Automerge actor id belongs to the one device that first pushed a change under it
-- (registered before that change is committed): a change under another device's actor
-- is refused, so no device can squat a colleague's sequence numbers.
CREATE TABLE device_actors (
    actor       TEXT PRIMARY KEY,
    device      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    first_seen  BIGINT NOT NULL
);
CREATE INDEX device_actors_device ON device_actors(device);
