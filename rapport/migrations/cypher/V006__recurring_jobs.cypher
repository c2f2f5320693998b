// Recurring jobs of the server (rapport.algorithms.schedule): one _Job node per job holds its lease.
CREATE CONSTRAINT job_name IF NOT EXISTS FOR (j:_Job) REQUIRE j.name IS UNIQUE;
