-- A lost card found again (解挂): the loss periods that ended, each from the day it was
-- reported lost to the day it was found, so that the card's state on any past day stays
-- provable (a claim made while it was lost still shows it lost on those days).
CREATE TABLE card_losses (
    id {{ID}},
    card_id BIGINT NOT NULL REFERENCES cards (id),
    lost_on TEXT NOT NULL,
    found_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX card_losses_card ON card_losses (card_id, id);
