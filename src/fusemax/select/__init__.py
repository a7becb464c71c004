"""The select stage: the dataflows render cannot look up. FLAT's own dataflow search (:mod:`.flat`) runs as
orchestrator jobs, one per attention group, and fills the table render reads."""
