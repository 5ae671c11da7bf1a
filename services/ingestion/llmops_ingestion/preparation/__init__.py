"""Preparation's I/O around the pure rules of ``domain``: raw files read (``readers``, one module per
format, after ``decompress``), the pipeline that turns them into a version folder (``pipeline``,
``writer``, ``tokens``), its profile report (``report``), and versions read back (``version_queries``).

Nothing is imported here: the service process loads only what it uses, and never matplotlib, which
only the preparation worker's child process needs (``report.page``).
"""
