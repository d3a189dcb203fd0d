"""Mixed precision training (/amp): settings, cached runs, labels."""
