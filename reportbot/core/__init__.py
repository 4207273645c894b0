"""Pure: periods, report numbers, crontab, usage rows. No I/O, no clock."""
