"""The pure domain: content schema, the state machine, outcome rules, screens and contacts. No I/O."""
