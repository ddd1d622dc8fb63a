"""Management commands of the certificate authority."""
