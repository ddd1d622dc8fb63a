"""Messages to people: email through Django's mail backends, SMS through a pluggable sender."""
