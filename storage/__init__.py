"""Where conversations are kept between updates: codes only, under a pseudonymous key."""
