"""RobustForensics workflow package."""
