"""Reports: figures about the people, cards and organisations in the viewer's scope."""
