"""The small runtime every RealtorOS service shares."""
