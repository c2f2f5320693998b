"""The simulated CRM world behind the demo graph, with its planted ground truth.

Everything is drawn from one seeded NumPy generator into compact arrays (ints,
floats, codes), so a million customers fit in a few hundred MiB; strings are
made only when :mod:`rapport.demo.emit` writes a batch.

Planted truth (recorded as ``_Truth`` nodes, which models must not read):

**Account churn** (``kind = "account_churn"``): whether the account churns in
the next quarter. Its log-odds, -5.3 for an account with none of the
drivers (about one in five accounts churns), add up, with Gaussian noise
(sd 0.7):

- *falling engagement* (+4.5): 15% of accounts are disengaged; nine in ten
  of their activities in the last 180 days are dropped;
- *negative ticket spike* (+3.6): 12% of accounts raise extra tickets in the
  last 90 days, 85% of them in negative wording;
- *champion left* (+4.5): for 10% of accounts with two or more contacts, the
  champion's ``WORKS_AT`` ends in the last 120 days and a new one starts
  elsewhere;
- *competitor influence* (+6.0 at 5% seed accounts, which also show
  disengagement and tickets naming a competitor trial; +12 x exposure
  elsewhere): exposure is the share of an account's contacts' cross-account
  ``KNOWS`` partners who work at seed accounts, so this part of the risk is
  reachable only through relationships.

**Deal win** (``kind = "deal_win"``): log-odds -3.5, +3.5 with a champion
involved, +1.1 per extra contact (multi-threading), +0.6 per year of the
owning rep's experience (capped at 8), +2.75 when a product fits the account's
industry, -2.0 with a blocker, noise sd 0.7. Closed deals show the outcome as
their stage; open deals keep it only in the truth.

**Lead conversion** (``kind = "lead_conversion"``): for customers in stage
``lead``: log-odds -4.3, +2.1 opened, +2.7 clicked, +3.9 responded to a
campaign, +10 x the share of their ``KNOWS`` contacts who are evangelists
(a neighbour effect), noise sd 0.5.

The effects are strong enough that the planted probability ranks outcomes
with a ROC AUC of about 0.93 to 0.95 (``rapport train --label truth`` prints
it as the ceiling); the noise and the draw of each outcome from its
probability keep the rest beyond any model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from rapport.demo import vocabulary as v
from rapport.graph.values import epoch_millis

NOW_MS = epoch_millis(dt.datetime(2026, 11, 1, tzinfo=dt.UTC))  # fixed: same seed, same graph
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


@dataclass(frozen=True)
class DemoShape:
    """How many of each thing a demo graph of ``customers`` customers has."""

    customers: int

    @property
    def accounts(self) -> int:
        return max(4, self.customers // 8)

    @property
    def reps(self) -> int:
        return max(5, self.customers // 400)

    @property
    def agents(self) -> int:
        return max(2, self.customers // 800)

    @property
    def marketers(self) -> int:
        return max(2, self.customers // 5000)

    @property
    def campaigns(self) -> int:
        return max(3, self.customers // 2000)


TEAMS = [(f"{region} Sales", "sales") for region, _, _ in v.REGIONS] + [
    ("Customer Support", "support"),
    ("Marketing", "marketing"),
    ("Customer Success", "success"),
]
SUPPORT_TEAM, MARKETING_TEAM, SUCCESS_TEAM = len(v.REGIONS), len(v.REGIONS) + 1, len(v.REGIONS) + 2
TERRITORIES = [
    (f"{region} {seg}", region) for region, _, _ in v.REGIONS for seg in ("Enterprise", "Commercial")
]
SEGMENTS = ("Enterprise accounts", "Mid-market accounts", "SMB accounts", "Evangelists")
ARTICLES = 20
ROLES = ("champion", "decision_maker", "influencer", "blocker")
OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")
TICKET_PRIORITY_SLA_H = (("low", 168), ("normal", 72), ("high", 24), ("urgent", 4))


class DemoWorld:
    """All entities of one demo graph as arrays; see the module docstring for the truth."""

    def __init__(self, customers: int, seed: int) -> None:
        if customers < 1:
            raise ValueError("customers must be at least 1")
        self.shape = DemoShape(customers)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._org()
        self._accounts()
        self._customers()
        self._knows()
        self._churn()
        self._activities()
        self._tickets()
        self._deals()
        self._campaigns()

    # -- staff, teams, territories, products --------------------------------
    def _org(self) -> None:
        rng, s = self.rng, self.shape
        regions = len(v.REGIONS)
        # Users: one manager per team, then reps, support agents, marketers.
        managers = np.arange(len(TEAMS))
        rep_team = np.arange(s.reps) % regions
        self.user_team = np.concatenate(
            [managers, rep_team, np.full(s.agents, SUPPORT_TEAM), np.full(s.marketers, MARKETING_TEAM)]
        )
        n = len(self.user_team)
        self.user_role = np.array(
            ["manager"] * len(TEAMS)
            + ["sales"] * s.reps
            + ["support"] * s.agents
            + ["marketing"] * s.marketers
        )
        self.user_is_manager = np.arange(n) < len(TEAMS)
        self.user_hired = NOW_MS - (rng.gamma(2.0, 1.4, n) * YEAR_MS + 30 * DAY_MS).astype(np.int64)
        self.user_created = np.maximum(self.user_hired, NOW_MS - 3 * YEAR_MS)
        self.reps = np.flatnonzero(self.user_role == "sales")
        self.agents = np.flatnonzero(self.user_role == "support")
        self.rep_experience = (NOW_MS - self.user_hired) / YEAR_MS
        self.product_family = np.array([v.FAMILIES.index(f) for _, f, _ in v.PRODUCTS])

    # -- accounts ----------------------------------------------------------
    def _accounts(self) -> None:
        rng, a = self.rng, self.shape.accounts
        self.acc_industry = rng.integers(0, len(v.INDUSTRIES), a)
        self.acc_region = rng.choice(len(v.REGIONS), a, p=[0.35, 0.3, 0.15, 0.1, 0.1])
        self.acc_tier = rng.choice(3, a, p=[0.15, 0.35, 0.5])  # enterprise, mid_market, smb
        self.acc_country_pick = rng.integers(0, 1 << 16, a)
        self.acc_employees = (
            (np.exp(rng.normal([8.0, 5.5, 3.2], 0.6, (a, 3)))[np.arange(a), self.acc_tier]).astype(np.int64)
            + 5
        )
        self.acc_created = NOW_MS - rng.integers(60, 3 * 365, a) * DAY_MS
        reps_by_region = [self.reps[self.user_team[self.reps] == r] for r in range(len(v.REGIONS))]
        pick = rng.integers(0, 1 << 30, a)
        self.acc_owner = np.array(
            [
                reps_by_region[r][p % len(reps_by_region[r])]
                if len(reps_by_region[r])
                else self.reps[p % len(self.reps)]
                for r, p in zip(self.acc_region.tolist(), pick.tolist(), strict=True)
            ]
        )
        self.acc_territory = self.acc_region * 2 + (self.acc_tier != 0)
        subsidiary = (rng.random(a) < 0.05) & (np.arange(a) > 0)
        self.subsidiaries = np.flatnonzero(subsidiary)
        self.subsidiary_parent = (self.subsidiaries * rng.random(len(self.subsidiaries))).astype(np.int64)
        self.competitor_seed = rng.random(a) < 0.05
        self.disengaged = (rng.random(a) < 0.15) | self.competitor_seed
        self.ticket_spike = (rng.random(a) < 0.12) | self.competitor_seed

    # -- customers and their employment -------------------------------------
    def _customers(self) -> None:
        rng, n, a = self.rng, self.shape.customers, self.shape.accounts
        weight = np.array([4.0, 2.0, 1.0])[self.acc_tier]
        self.cust_account = np.sort(rng.choice(a, n, p=weight / weight.sum()))
        self.acc_start = np.searchsorted(self.cust_account, np.arange(a))
        self.acc_size = np.bincount(self.cust_account, minlength=a)
        self.cust_first = rng.integers(0, len(v.FIRST_NAMES), n)
        self.cust_last = rng.integers(0, len(v.LAST_NAMES), n)
        self.cust_title = rng.integers(0, len(v.TITLES), n)
        stage = rng.random(n)
        self.cust_stage = np.where(
            stage < 0.25, 0, np.where(stage < 0.33, 2, 1)
        )  # lead, customer, evangelist
        self.cust_created = NOW_MS - rng.integers(30, 2 * 365, n) * DAY_MS
        self.cust_since = self.cust_created - rng.integers(0, 3 * 365, n) * DAY_MS
        # The champion of an account: its first contact with a senior title, else its first contact.
        senior = np.isin(self.cust_title, list(v.SENIOR_TITLES))
        first_senior = np.full(a, -1)
        idx = np.flatnonzero(senior)[::-1]
        first_senior[self.cust_account[idx]] = idx
        self.acc_champion = np.where(
            first_senior >= 0, first_senior, np.where(self.acc_size > 0, self.acc_start, -1)
        )
        eligible = self.acc_size >= 2
        self.champion_left = eligible & (rng.random(a) < 0.10)
        # Job changes: a previous employer for 12% of customers, and the new employer of
        # champions who left.
        moved = np.flatnonzero(rng.random(n) < 0.12)
        self.prev_customer = moved
        self.prev_account = (self.cust_account[moved] + rng.integers(1, max(a, 2), len(moved))) % a
        self.prev_since = self.cust_since[moved] - rng.integers(200, 2000, len(moved)) * DAY_MS
        left = np.flatnonzero(self.champion_left)
        self.left_customer = self.acc_champion[left]
        self.left_until = NOW_MS - rng.integers(10, 120, len(left)) * DAY_MS
        self.left_new_account = (left + rng.integers(1, max(a, 2), len(left))) % a
        self.cust_until = np.full(n, -1, dtype=np.int64)
        self.cust_until[self.left_customer] = self.left_until

    # -- who knows whom ----------------------------------------------------
    def _knows(self) -> None:
        rng, n = self.rng, self.shape.customers
        k = rng.poisson(1.5, n)
        src = np.repeat(np.arange(n), k)
        acc = self.cust_account[src]
        dst = self.acc_start[acc] + (rng.random(len(src)) * self.acc_size[acc]).astype(np.int64)
        within = src != dst
        k2 = rng.poisson(0.6, n)
        src2 = np.repeat(np.arange(n), k2)
        # Cross-account contacts cluster by industry, forming communities.
        industry = self.acc_industry[self.cust_account]
        by_industry = [np.flatnonzero(industry == i) for i in range(len(v.INDUSTRIES))]
        same = rng.random(len(src2)) < 0.7
        pick = rng.integers(0, 1 << 40, len(src2))
        dst2 = np.array(
            [
                by_industry[ind][p % len(by_industry[ind])] if s_ else p % n
                for ind, p, s_ in zip(industry[src2].tolist(), pick.tolist(), same.tolist(), strict=True)
            ],
            dtype=np.int64,
        )
        cross = self.cust_account[src2] != self.cust_account[dst2]
        pairs = np.unique(
            np.concatenate(
                [np.stack([src[within], dst[within]], 1), np.stack([src2[cross], dst2[cross]], 1)]
            ).reshape(-1, 2),
            axis=0,
        )
        self.knows_src, self.knows_dst = pairs[:, 0], pairs[:, 1]
        self.knows_strength = np.round(rng.uniform(0.2, 1.0, len(pairs)), 2)
        self.knows_since = np.maximum(self.cust_since[self.knows_src], self.cust_since[self.knows_dst])
        cross_pair = self.cust_account[self.knows_src] != self.cust_account[self.knows_dst]
        referred = cross_pair & (rng.random(len(pairs)) < 0.08)
        self.referred_src, self.referred_dst = self.knows_src[referred], self.knows_dst[referred]
        self.cross_src, self.cross_dst = self.knows_src[cross_pair], self.knows_dst[cross_pair]

    # -- the churn truth ---------------------------------------------------
    def _churn(self) -> None:
        rng, a = self.rng, self.shape.accounts
        # Exposure: share of cross-account partners (both directions) at competitor seed accounts.
        ends = np.concatenate([self.cross_src, self.cross_dst])
        partners = np.concatenate([self.cross_dst, self.cross_src])
        mine = self.cust_account[ends]
        hits = self.competitor_seed[self.cust_account[partners]].astype(float)
        total = np.bincount(mine, minlength=a)
        self.exposure = np.divide(
            np.bincount(mine, weights=hits, minlength=a), total, out=np.zeros(a), where=total > 0
        )
        self.churn_parts = {
            "falling_engagement": 4.5 * self.disengaged,
            "negative_ticket_spike": 3.6 * self.ticket_spike,
            "champion_left": 4.5 * self.champion_left,
            "competitor_influence": np.where(self.competitor_seed, 6.0, 12.0 * self.exposure),
        }
        logit = -5.3 + sum(self.churn_parts.values()) + rng.normal(0, 0.7, a)
        self.churn_p = _sigmoid(logit)
        self.churned = rng.random(a) < self.churn_p

    # -- activities --------------------------------------------------------
    def _activities(self) -> None:
        rng, n = self.rng, self.shape.customers
        lam = np.array([2.4, 1.8, 1.3])[self.acc_tier[self.cust_account]]
        cust = np.repeat(np.arange(n), rng.poisson(lam))
        start = self.cust_created[cust]
        at = start + (rng.random(len(cust)) * (NOW_MS - start)).astype(np.int64)
        recent = at > NOW_MS - 180 * DAY_MS
        thinned = self.disengaged[self.cust_account[cust]] & recent & (rng.random(len(cust)) < 0.9)
        keep = ~thinned
        self.act_customer, self.act_at = cust[keep], at[keep]
        m = len(self.act_customer)
        self.act_kind = rng.choice(4, m, p=[0.5, 0.25, 0.15, 0.1])  # email, call, meeting, note
        self.act_subject = rng.integers(0, 4, m)
        owner = self.acc_owner[self.cust_account[self.act_customer]]
        other = self.reps[rng.integers(0, len(self.reps), m)]
        self.act_user = np.where(rng.random(m) < 0.8, owner, other)
        self.act_minutes = np.where(self.act_kind == 1, rng.integers(5, 60, m), rng.integers(30, 120, m))
        self.act_direction = rng.integers(0, 2, m)

    # -- support tickets ---------------------------------------------------
    def _tickets(self) -> None:
        rng, n = self.rng, self.shape.customers
        base = np.repeat(np.arange(n), rng.poisson(0.3, n))
        base_at = self.cust_created[base] + (
            rng.random(len(base)) * (NOW_MS - self.cust_created[base])
        ).astype(np.int64)
        spiking = self.ticket_spike[self.cust_account]
        spike = np.repeat(np.arange(n), rng.poisson(1.2 * spiking))
        spike_at = NOW_MS - rng.integers(1, 90, len(spike)) * DAY_MS
        self.tix_customer = np.concatenate([base, spike])
        self.tix_at = np.concatenate([base_at, spike_at])
        m = len(self.tix_customer)
        is_spike = np.arange(m) >= len(base)
        self.tix_negative = rng.random(m) < np.where(is_spike, 0.85, 0.2)
        self.tix_competitor = is_spike & self.competitor_seed[self.cust_account[self.tix_customer]]
        self.tix_subject = rng.integers(0, len(v.TICKET_SUBJECTS), m)
        self.tix_template = rng.integers(0, 4, m)
        self.tix_priority = np.where(
            self.tix_negative, rng.choice(4, m, p=[0.1, 0.3, 0.4, 0.2]), rng.choice(4, m)
        )
        self.tix_channel = rng.integers(0, 5, m)
        self.tix_agent = self.agents[rng.integers(0, len(self.agents), m)]
        self.tix_product = rng.integers(0, len(v.PRODUCTS), m)
        age = NOW_MS - self.tix_at
        self.tix_done = age > rng.integers(2, 20, m) * DAY_MS
        self.tix_resolved_at = self.tix_at + (rng.random(m) * np.minimum(age, 14 * DAY_MS)).astype(np.int64)
        self.tix_satisfaction = np.clip(np.where(self.tix_negative, 2, 4) + rng.integers(-1, 2, m), 1, 5)
        self.tix_article = np.where(rng.random(m) < 0.3, self.tix_subject * 2 % ARTICLES, -1)

    # -- deals and the win truth -------------------------------------------
    def _deals(self) -> None:
        rng, a = self.rng, self.shape.accounts
        lam = np.array([3.0, 1.8, 1.0])[self.acc_tier] * (self.acc_size > 0)
        acc = np.repeat(np.arange(a), rng.poisson(lam))
        d = len(acc)
        self.deal_account = acc
        self.deal_created = NOW_MS - rng.integers(5, 2 * 365, d) * DAY_MS
        self.deal_rep = self.acc_owner[acc]
        self.deal_product = rng.integers(0, len(v.PRODUCTS), (d, 2))
        self.deal_two_products = rng.random(d) < 0.3
        self.deal_quantity = rng.integers(1, 4, d) * np.array([5, 2, 1])[self.acc_tier[acc]]
        fits = np.array([[v.FAMILIES.index(f) for f in fam] + [-1] * (3 - len(fam)) for fam in v.FIT])
        fam = self.product_family[self.deal_product]
        industry_fit = fits[self.acc_industry[acc]]
        fit0 = (fam[:, :1] == industry_fit).any(1)
        fit1 = (fam[:, 1:] == industry_fit).any(1) & self.deal_two_products
        self.deal_fit = fit0 | fit1
        # Contacts: 1..4 customers of the account, the champion among them with p 0.6.
        contacts = np.minimum(rng.integers(1, 5, d), self.acc_size[acc])
        self.deal_has_champion = rng.random(d) < 0.6
        offsets = [np.arange(c) for c in contacts.tolist()]
        self.inv_deal = np.repeat(np.arange(d), contacts)
        slot = np.concatenate(offsets) if offsets else np.zeros(0, dtype=np.int64)
        start, size = self.acc_start[acc][self.inv_deal], self.acc_size[acc][self.inv_deal]
        champ = self.acc_champion[acc][self.inv_deal]
        others = start + (champ - start + 1 + slot) % np.maximum(size, 1)
        use_champ = (slot == 0) & self.deal_has_champion[self.inv_deal]
        self.inv_customer = np.where(use_champ, champ, others)
        self.inv_role = np.where(use_champ, 0, rng.choice([1, 2, 3], len(slot), p=[0.45, 0.4, 0.15]))
        pair = np.unique(np.stack([self.inv_deal, self.inv_customer], 1), axis=0, return_index=True)[1]
        keep = np.zeros(len(slot), bool)
        keep[pair] = True
        self.inv_deal, self.inv_customer, self.inv_role = (
            x[keep] for x in (self.inv_deal, self.inv_customer, self.inv_role)
        )
        self.deal_has_champion = np.bincount(self.inv_deal, weights=self.inv_role == 0, minlength=d) > 0
        n_contacts = np.bincount(self.inv_deal, minlength=d)
        blocker = np.bincount(self.inv_deal, weights=self.inv_role == 3, minlength=d) > 0
        self.deal_parts = {
            "champion_involved": 3.5 * self.deal_has_champion,
            "multi_threaded": 1.1 * np.maximum(n_contacts - 1, 0),
            "rep_experience": 0.6 * np.minimum(self.rep_experience[self.deal_rep], 8),
            "product_fit": 2.75 * self.deal_fit,
            "blocker_involved": -2.0 * blocker,
        }
        logit = -3.5 + sum(self.deal_parts.values()) + rng.normal(0, 0.7, d)
        self.deal_p = _sigmoid(logit)
        self.deal_won = rng.random(d) < self.deal_p
        self.deal_closed = (self.deal_created < NOW_MS - 120 * DAY_MS) & (rng.random(d) < 0.85)
        self.deal_closed_at = self.deal_created + rng.integers(30, 150, d) * DAY_MS
        self.deal_open_stage = rng.integers(0, len(OPEN_STAGES), d)
        self.deal_expected_close = NOW_MS + rng.integers(10, 180, d) * DAY_MS

    # -- campaigns, touches and the lead truth -----------------------------
    def _campaigns(self) -> None:
        rng, n, c = self.rng, self.shape.customers, self.shape.campaigns
        self.camp_theme = rng.integers(0, len(v.CAMPAIGN_THEMES), c)
        self.camp_channel = rng.integers(0, 8, c)
        self.camp_start = NOW_MS - rng.integers(10, 2 * 365, c) * DAY_MS
        self.camp_budget = rng.integers(5, 200, c) * 100_000
        per = rng.poisson(1.2, n) + 1
        cust = np.repeat(np.arange(n), per)
        camp = rng.integers(0, c, len(cust))
        opened = rng.random(len(cust)) < 0.45
        clicked = opened & (rng.random(len(cust)) < 0.35)
        responded = clicked & (rng.random(len(cust)) < 0.25)
        converted = responded & (self.cust_stage[cust] != 0) & (rng.random(len(cust)) < 0.3)
        kinds = np.stack([np.ones(len(cust), bool), opened, clicked, responded, converted], 1)
        row, kind = np.nonzero(kinds)
        self.touch_customer, self.touch_campaign, self.touch_kind = cust[row], camp[row], kind
        self.touch_at = (
            self.camp_start[self.touch_campaign] + (kind * rng.integers(1, 4, len(row)) + 1) * DAY_MS
        )
        self.touch_channel = self.camp_channel[self.touch_campaign]
        best = np.zeros(n, dtype=np.int64)
        np.maximum.at(best, cust, kinds[:, :4].sum(1) - 1)  # 0 sent .. 3 responded
        evangelist = (self.cust_stage == 2).astype(float)
        ends = np.concatenate([self.knows_src, self.knows_dst])
        partners = np.concatenate([self.knows_dst, self.knows_src])
        deg = np.bincount(ends, minlength=n)
        share = np.divide(
            np.bincount(ends, weights=evangelist[partners], minlength=n), deg, out=np.zeros(n), where=deg > 0
        )
        self.lead_parts = {
            "opened_campaign": 2.1 * (best >= 1),
            "clicked_campaign": 2.7 * (best >= 2),
            "responded_to_campaign": 3.9 * (best >= 3),
            "evangelist_contacts": 10.0 * share,
        }
        logit = -4.3 + sum(self.lead_parts.values()) + rng.normal(0, 0.5, n)
        self.lead_p = _sigmoid(logit)
        self.lead_converted = rng.random(n) < self.lead_p
        self.leads = np.flatnonzero(self.cust_stage == 0)
