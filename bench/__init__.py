"""``make bench``: how fast snekomatic accepts signed webhooks, against the floor Python can reach.

Run ``python -m bench [--quick] [--duration S]`` (``make bench`` does it with a PostgreSQL server in
``TEST_DATABASE_URL``). See bench/README.md for what is measured and how to read the report.
"""
