"""Re-screening hooks (filled in by the screening service)."""
