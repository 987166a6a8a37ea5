"""The SageMaker backend: the lab's steps run on Amazon SageMaker with the SDK v2.

Nothing here imports the SageMaker SDK at module load: `session.import_sagemaker` does it
on first use, quietly (no telemetry, no deprecation banner, logging restored afterwards).
Pages call `session.check_sagemaker` to say why the backend cannot be used, offline.
"""
