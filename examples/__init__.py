"""Example programs that use CIS from outside, as other systems would."""
