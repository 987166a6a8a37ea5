"""What the SageMaker twins share, owned once: sessions, names and tags, errors, polling.

    session.py   the SDK v2 imported quietly; sessions made once and cached (injectable)
    names.py     the workspace's resource names and tag, job names, the S3 prefix
    errors.py    one mapping from botocore errors to the lab's errors
    polling.py   one poller for jobs, endpoints and feature groups
    twin.py      SageMakerTwin: the base class of every SageMaker implementation
    ledger.py    the twins' records of what they launched: code that ran, instances, billing
    prices.py    the bundled, dated price table (prices.json) and estimates
    connection.py  the connection check that asks AWS, one sentence and a fix per failure
    iam.py       the IAM policies the lab needs (README; simulated by the check)
    redaction.py   credentials blanked in every log record, whatever the levels

It imports no capability (an import contract checks), and nothing here imports boto3 or
the SDK at module load.
"""
