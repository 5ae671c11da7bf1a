"""Reports on a dataset version's exploratory-data-analysis profile (the dict the profiler builds).

``page.render_html`` gives one self-contained HTML file: CSS in a ``<style>`` block, every plot an
inline base64 PNG (``plots``), no scripts and nothing fetched from elsewhere, so it opens anywhere,
offline. ``summary.render_summary`` gives the same profile as plain text for the CLI. An empty
profile (no records) renders without error. Nothing is imported here, so that the service process
can show a summary without loading matplotlib: only the preparation worker renders the page.
"""
