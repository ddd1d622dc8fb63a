"""`cis ca ...`: the operator's handle on the certificate authority."""
