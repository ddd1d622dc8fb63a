"""A small 'prescribing' relying party that signs people in through CIS with Authlib."""
