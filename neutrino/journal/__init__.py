"""SDN-controller sync: a journal written in precommit, sent by workers, kept by maintenance."""
