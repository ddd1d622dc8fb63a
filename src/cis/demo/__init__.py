"""The demo: a believable world of one RA, its pharmacies and a GP practice, and its personas."""
