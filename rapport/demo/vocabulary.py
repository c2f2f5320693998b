"""Words the demo graph is made of: names, industries, regions, products, ticket texts."""

from __future__ import annotations

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Anna", "Arjun", "Beatriz", "Ben", "Carla", "Chen", "Chloe", "Dara",
    "David", "Elena", "Emeka", "Erik", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan",
    "Jamal", "Jana", "Jonas", "Julia", "Kai", "Kenji", "Laila", "Lars", "Lena", "Liam", "Lucia",
    "Malik", "Marta", "Mateo", "Maya", "Mei", "Nadia", "Noah", "Nora", "Omar", "Olga", "Pablo",
    "Priya", "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Tom", "Uma", "Victor", "Wen",
    "Yara", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Abara", "Andersen", "Bauer", "Becker", "Costa", "Dubois", "Eriksson", "Fernandes", "Fischer",
    "Garcia", "Gupta", "Haddad", "Hansen", "Ito", "Jansen", "Kim", "Kowalski", "Larsen", "Lee",
    "Lopez", "Martin", "Mehta", "Moreau", "Muller", "Nakamura", "Nguyen", "Novak", "Okafor",
    "Olsen", "Patel", "Petrov", "Quinn", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Sato",
    "Tanaka", "Torres", "Walker", "Weber", "Wong", "Yilmaz", "Zhang",
)  # fmt: skip
TITLES = (
    "Chief Executive Officer", "Chief Technology Officer", "VP Sales", "VP Engineering",
    "Head of Operations", "IT Director", "Procurement Manager", "Product Manager",
    "Data Analyst", "Engineer", "Finance Director", "Customer Success Lead",
)  # fmt: skip
# Index of TITLES that make a natural champion or decision maker.
SENIOR_TITLES = frozenset(range(6))

COMPANY_STEMS = (
    "Acme", "Apex", "Arcadia", "Atlas", "Aurora", "Beacon", "Blue Harbor", "Brightline", "Cascade",
    "Cedar", "Cobalt", "Crescent", "Delta", "Evergreen", "Falcon", "Granite", "Helix", "Horizon",
    "Ironwood", "Juniper", "Keystone", "Lumen", "Meridian", "Nimbus", "Northwind", "Orion",
    "Pinnacle", "Quartz", "Redwood", "Sable", "Summit", "Tidewater", "Vertex", "Willow", "Zenith",
)  # fmt: skip
COMPANY_SUFFIXES = ("Systems", "Labs", "Group", "Industries", "Partners", "Works", "Holdings", "Logistics")

INDUSTRIES = (
    "Software", "Manufacturing", "Healthcare", "Retail", "Financial Services", "Logistics",
    "Education", "Energy", "Media", "Hospitality",
)  # fmt: skip

# (region, countries, currency)
REGIONS = (
    ("North America", ("US", "CA"), "USD"),
    ("Europe", ("DE", "FR", "GB", "NL", "ES"), "EUR"),
    ("Asia Pacific", ("JP", "SG", "AU", "IN"), "USD"),
    ("Latin America", ("BR", "MX", "AR"), "USD"),
    ("Middle East & Africa", ("AE", "ZA", "NG"), "USD"),
)
CITIES = {
    "US": "Chicago", "CA": "Toronto", "DE": "Berlin", "FR": "Lyon", "GB": "Manchester",
    "NL": "Utrecht", "ES": "Valencia", "JP": "Osaka", "SG": "Singapore", "AU": "Melbourne",
    "IN": "Pune", "BR": "Curitiba", "MX": "Monterrey", "AR": "Rosario", "AE": "Dubai",
    "ZA": "Cape Town", "NG": "Lagos",
}  # fmt: skip

# (name, family, list price in minor units)
PRODUCTS = (
    ("Graph Core", "platform", 4_800_000), ("Graph Core Enterprise", "platform", 12_000_000),
    ("Insight Analytics", "analytics", 2_400_000), ("Insight Forecasting", "analytics", 3_600_000),
    ("Service Desk", "support", 1_800_000), ("Service Desk Plus", "support", 3_000_000),
    ("Campaign Studio", "marketing", 1_500_000), ("Journey Builder", "marketing", 2_200_000),
    ("Secure Connect", "security", 2_000_000), ("Audit Vault", "security", 2_600_000),
    ("Data Bridge", "integration", 1_200_000), ("API Gateway", "integration", 1_600_000),
)  # fmt: skip
FAMILIES = ("platform", "analytics", "support", "marketing", "security", "integration")
# Planted product fit: which families suit which industries (row: INDUSTRIES order).
FIT = (
    ("platform", "integration", "analytics"), ("platform", "security"), ("security", "support"),
    ("marketing", "analytics"), ("security", "analytics"), ("integration", "platform"),
    ("support", "marketing"), ("analytics", "security"), ("marketing", "platform"),
    ("support", "marketing"),
)  # fmt: skip

TICKET_SUBJECTS = (
    "Cannot log in", "Export to CSV fails", "Dashboard loads slowly", "Question about invoice",
    "Integration returns 500", "Need more user seats", "Report shows wrong totals",
    "How do I configure SSO", "Data sync delayed", "Feature request: bulk edit",
)  # fmt: skip
POSITIVE_TEMPLATES = (
    "Hi team, small issue with {product}: {subject}. Not urgent, thanks for the great support so far.",
    "We love {product}. One question: {subject}. Happy to wait for a fix.",
    "Quick one about {product} ({subject}). Your last answer was really helpful, thanks!",
    "{subject} in {product}. Everything else works well and the team is happy.",
)
NEGATIVE_TEMPLATES = (
    "This is the third time this month: {subject} in {product}. This is unacceptable and we are "
    "evaluating alternatives.",
    "{product} is broken again ({subject}). Our team is frustrated and management is asking why we "
    "pay for this.",
    "Still no fix for {subject}. {product} keeps failing, we are very disappointed with the service.",
)
# Only the tickets the truth says name a competitor (at competitor seed accounts) use this one.
COMPETITOR_TEMPLATE = (
    "Urgent: {subject}. {product} has been unreliable for weeks and a competitor offered us a trial."
)
RESOLUTIONS = ("workaround provided", "bug fixed in release", "configuration changed", "explained in docs")

CAMPAIGN_THEMES = (
    "Spring Launch", "Graph Summit", "Analytics Webinar", "Security Briefing", "Customer Stories",
    "Year-End Offer", "Partner Roadshow", "Product Tour",
)  # fmt: skip
ACTIVITY_SUBJECTS = {
    "email": ("Follow-up on proposal", "Renewal reminder", "Intro to new features", "Meeting notes"),
    "call": ("Discovery call", "Pricing discussion", "Check-in call", "Escalation call"),
    "meeting": ("Quarterly business review", "Onsite workshop", "Executive briefing", "Demo"),
    "note": ("Account plan updated", "Stakeholder map", "Risk noted", "Budget confirmed"),
}
