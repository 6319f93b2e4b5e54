"""Quality and trust: QC documents, delivery inspection, reviews, scorecards, certifications
(issue "Quality you can trust"; empty until it lands)."""
