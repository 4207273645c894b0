"""The worker: schedules, what is due, runs in processes of their own."""
