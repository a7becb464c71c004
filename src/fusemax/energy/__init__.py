"""Energy and area: Accelergy-format ERT/ART tables, the builtin estimator, action counts."""
