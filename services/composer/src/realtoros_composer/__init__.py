"""RealtorOS composer: TaskDue → EmailComposed / ComposeFailed (openai SDK or templates)."""
