"""Marathon's app definition rules; see marathon_rules.py and README.md."""

from .marathon_rules import (  # noqa: F401
    Violation,
    app_schema_path,
    group_details,
    marathon_path,
    pointer,
    port_entries,
    schemas_dir,
    semantic_violations,
    structure_violations,
    validate_app,
)
