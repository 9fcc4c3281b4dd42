"""The lease of the housekeeping jobs."""
from ..extensions import db

class JobLease(db.Model):
    """Which server process runs the housekeeping jobs, until when."""
    __tablename__ = "job_lease"

    name = db.Column(db.String(40), primary_key=True)
    holder = db.Column(db.String(80), nullable=False)
    expires_at = db.Column(db.DateTime, nullable=False)
