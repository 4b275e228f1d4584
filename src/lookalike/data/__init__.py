"""Stage `prepare`/`review`: photos → clean aligned 128×128 face data set (paper §3)."""
