"""Certificate templates, issuance, rendering, signed credentials and verification."""
