"""The base of every SageMaker implementation: its session, names, tags and bucket.

A SageMaker twin is cheap to construct: nothing is imported and no session is made until
its first AWS call, so a page can open one just to ask it a question (its resource names,
its notes). Tests hand it a session (`session=`), or inject a session maker
(`lab.aws.session.use_factory`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from lab.aws import names
from lab.aws import session as aws_session
from lab.twins import Twin


class SageMakerTwin(Twin):
    backend: ClassVar[str] = "sagemaker"
    label: ClassVar[str] = "SageMaker"

    def __init__(self, settings: Any, *, session: Any = None) -> None:
        super().__init__(settings)
        self._session = session

    @classmethod
    def resource_name(cls, settings: Any, base: str) -> str:
        return names.resource_name(settings, base)

    @property
    def session(self) -> Any:
        """The sagemaker.Session (made or taken from the shared cache on first use)."""
        if self._session is None:
            self._session = aws_session.sessions(self.settings)[1]
        return self._session

    @property
    def boto_session(self) -> Any:
        return self.session.boto_session

    @property
    def client(self) -> Any:
        """The boto3 `sagemaker` client."""
        return self.session.sagemaker_client

    @property
    def region(self) -> str:
        return self.session.boto_region_name

    @property
    def bucket(self) -> str:
        """LAB_S3_BUCKET, or the SDK's default bucket; the SDK creates it when it is
        missing (the session is made with LAB_S3_BUCKET as its default bucket)."""
        with aws_session.sdk_logging_guard():
            return self.session.default_bucket()

    @property
    def tags(self) -> list[dict[str, str]]:
        """The lab's, the workspace's name and the workspace's id (names.tags)."""
        return names.tags(self.settings)

    @property
    def s3_prefix(self) -> str:
        """The workspace's folder in the bucket (names.s3_prefix)."""
        return names.s3_prefix(self.settings)

    def console_url(self, fragment: str) -> str:
        return names.console_url(self.region, fragment)
