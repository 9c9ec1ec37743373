"""application_train / application_test: every application column for all clients, drawn
from the profile through a Gaussian copula on the clients' latent factors."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from credit_scoring.data import schema
from credit_scoring.data.schema import DAYS_PER_YEAR
from credit_scoring.data.synthetic.distributions import (
    ANOMALY,
    CLIENT_ID_FIRST,
    CLIENT_ID_LAST,
    LATENTS,
    TEST,
    TRAIN,
    Population,
    Terms,
    annuity_payment,
    category_tilt,
    column_facts,
    draw_category,
    from_quantiles,
    from_score,
    knots,
    missing_loading,
    missing_mask,
    normal_score,
    pick,
    risk_loading,
    round_to,
    with_missing,
)

# Drift of application_test: normal-score shifts, contract mix, fewer missing EXT_SOURCE_1.
TEST_CREDIT_SHIFT, TEST_INCOME_SHIFT = 0.1, 0.1
TEST_REVOLVING_FACTOR = 0.4
TEST_EXT_SOURCE_1_MISSING = 0.47
APPLICATION_TERMS = ((12, 18, 24, 30, 36, 48, 60), (0.2, 0.14, 0.2, 0.1, 0.16, 0.1, 0.1))


def draw_population(rng: np.random.Generator, n_train: int, n_test: int) -> Population:
    """Draw client ids (disjoint train/test sets in the Kaggle range) and latent factors."""
    n = n_train + n_test
    span = CLIENT_ID_LAST - CLIENT_ID_FIRST + 1
    if n > span:
        raise ValueError(f"at most {span} clients fit the SK_ID_CURR range, asked for {n}")
    ids = CLIENT_ID_FIRST + np.sort(rng.choice(span, size=n, replace=False))
    is_test = np.zeros(n, dtype=bool)
    is_test[rng.choice(n, size=n_test, replace=False)] = True
    latent = {name: rng.standard_normal(n) for name in LATENTS}
    return Population(ids=ids, is_test=is_test, latent=latent)


def _generic(rng: np.random.Generator, pop: Population, column: str, terms: Terms = ()):
    """Draw an application column from its profile with its risk effect (plus extra drivers)."""
    facts, risk, n = column_facts(TRAIN, column), pop.latent["risk"], pop.size
    if facts["dtype"] == "category":
        tilt = category_tilt(column, list(facts["frequencies"]))
        values = draw_category(rng, facts["frequencies"], n, [(tilt, risk), *terms])
    else:
        values = from_score(facts, normal_score(rng, n, [(risk_loading(column), risk), *terms]))
    mask = missing_mask(rng, n, facts["missing_rate"], [(missing_loading(column), risk)])
    return with_missing(values, mask) if mask.any() else values


def _demographics(rng: np.random.Generator, pop: Population, cols: dict) -> None:
    """Age, gender, car and realty ownership."""
    risk, size, n = pop.latent["risk"], pop.latent["size"], pop.size
    birth = normal_score(rng, n, [(risk_loading("DAYS_BIRTH"), risk)])
    cols["DAYS_BIRTH"] = from_quantiles(
        column_facts(TRAIN, "DAYS_BIRTH")["quantiles"], ndtr(birth)
    )
    pop.latent["age"] = -birth
    cols["CODE_GENDER"] = _generic(rng, pop, "CODE_GENDER")
    male = (cols["CODE_GENDER"] == "M").astype(float)
    male = (male - male.mean()) / max(male.std(), 1e-9)
    cols["FLAG_OWN_CAR"] = _generic(
        rng, pop, "FLAG_OWN_CAR", [(np.array([-0.5, 0.5]), size), (np.array([-0.3, 0.3]), male)]
    )
    car_age = from_score(column_facts(TRAIN, "OWN_CAR_AGE"), normal_score(rng, n, [(-0.3, size)]))
    cols["OWN_CAR_AGE"] = np.where(cols["FLAG_OWN_CAR"] == "Y", car_age, np.nan)
    realty = list(column_facts(TRAIN, "FLAG_OWN_REALTY")["frequencies"])
    beta = np.where(np.array(realty) == "Y", 0.4, -0.4)
    cols["FLAG_OWN_REALTY"] = _generic(rng, pop, "FLAG_OWN_REALTY", [(beta, pop.latent["age"])])


def _days_employed_quantiles(anomaly_share: float) -> dict[str, float]:
    """Quantiles of DAYS_EMPLOYED among the employed (the 365243 placeholder left out)."""
    levels, values = knots(column_facts(TRAIN, "DAYS_EMPLOYED")["quantiles"])
    keep = values < 0
    scaled = np.minimum(levels[keep] / (1 - anomaly_share), 0.999)
    return {**{str(lv): v for lv, v in zip(scaled, values[keep], strict=True)}, "1": -1.0}


def _employment(rng: np.random.Generator, pop: Population, cols: dict) -> None:
    """Income type, DAYS_EMPLOYED (365243 for pensioners), organisation, occupation."""
    risk, age, n = pop.latent["risk"], pop.latent["age"], pop.size
    freqs = column_facts(TRAIN, "NAME_INCOME_TYPE")["frequencies"]
    pensioner = normal_score(rng, n, [(0.9, age)]) > ndtri(1 - freqs["Pensioner"])
    # The few-in-100k types (Student, Unemployed...) unseen in application_test are left out.
    in_test = set(schema.known_categories(TEST, "NAME_INCOME_TYPE"))
    others = {k: v for k, v in freqs.items() if k != "Pensioner" and k in in_test}
    tilt = category_tilt("NAME_INCOME_TYPE", list(others))
    kind = draw_category(rng, others, n, [(tilt, risk)])
    kind[pensioner] = "Pensioner"
    anomaly = pensioner  # DAYS_EMPLOYED = 365243, no employer, no occupation
    quantiles = _days_employed_quantiles(freqs["Pensioner"])
    days = from_quantiles(quantiles, ndtr(normal_score(rng, n, [(0.25, risk), (-0.45, age)])))
    days = np.maximum(np.round(days), cols["DAYS_BIRTH"] + 16 * DAYS_PER_YEAR)
    cols["NAME_INCOME_TYPE"] = kind
    cols["DAYS_EMPLOYED"] = np.where(anomaly, ANOMALY, days)
    cols["FLAG_EMP_PHONE"] = (~anomaly).astype(np.int64)
    cols["ORGANIZATION_TYPE"] = _labelled_unless(rng, risk, "ORGANIZATION_TYPE", anomaly, "XNA")
    cols["OCCUPATION_TYPE"] = _labelled_unless(rng, risk, "OCCUPATION_TYPE", anomaly, None)


def _labelled_unless(rng, risk: np.ndarray, column: str, anomaly: np.ndarray, fill: str | None):
    """Draw a job label for the employed; ``fill`` for pensioners (missing rate kept)."""
    facts = column_facts(TRAIN, column)
    freqs = {k: v for k, v in facts["frequencies"].items() if k != fill}
    tilt = category_tilt(column, list(freqs))
    values = draw_category(rng, freqs, risk.size, [(tilt, risk)])
    values[anomaly] = fill
    extra = (facts["missing_rate"] - anomaly.mean()) / max(1 - anomaly.mean(), 1e-9)
    values[rng.random(risk.size) < extra] = None
    return values


def _family(rng: np.random.Generator, pop: Population, cols: dict) -> None:
    """Family status, children, family size (>= children + 1), housing."""
    age = pop.latent["age"]
    status = list(column_facts(TRAIN, "NAME_FAMILY_STATUS")["frequencies"])
    age_beta = np.select(
        [np.array(status) == "Widow", np.array(status) == "Single / not married"], [1.2, -0.6], 0.0
    )
    cols["NAME_FAMILY_STATUS"] = _generic(rng, pop, "NAME_FAMILY_STATUS", [(age_beta, age)])
    cols["CNT_CHILDREN"] = _generic(rng, pop, "CNT_CHILDREN", [(-0.35, age)])
    partner = np.isin(cols["NAME_FAMILY_STATUS"], ["Married", "Civil marriage"])
    cols["CNT_FAM_MEMBERS"] = cols["CNT_CHILDREN"] + 1.0 + partner
    housing = np.array(list(column_facts(TRAIN, "NAME_HOUSING_TYPE")["frequencies"]))
    age_beta = np.select([housing == "With parents", housing == "Rented apartment"], [-1.0, -0.4])
    cols["NAME_HOUSING_TYPE"] = _generic(rng, pop, "NAME_HOUSING_TYPE", [(age_beta, age)])


def _education(rng: np.random.Generator, pop: Population) -> np.ndarray:
    """Education level, tilted by risk and by the size (wealth) latent."""
    levels = np.array(list(column_facts(TRAIN, "NAME_EDUCATION_TYPE")["frequencies"]))
    wealth = {"Higher education": 0.6, "Academic degree": 0.9, "Lower secondary": -0.6}
    beta = np.array([wealth.get(level, 0.0) for level in levels])
    return _generic(rng, pop, "NAME_EDUCATION_TYPE", [(beta, pop.latent["size"])])


def _contract_type(rng: np.random.Generator, pop: Population) -> np.ndarray:
    """NAME_CONTRACT_TYPE; application_test has fewer revolving loans (drift)."""
    freqs = column_facts(TRAIN, "NAME_CONTRACT_TYPE")["frequencies"]
    offset = np.zeros((pop.size, len(freqs)))
    offset[:, list(freqs).index("Revolving loans")] = np.where(
        pop.is_test, np.log(TEST_REVOLVING_FACTOR), 0.0
    )
    tilt = category_tilt("NAME_CONTRACT_TYPE", list(freqs))
    return draw_category(rng, freqs, pop.size, [(tilt, pop.latent["risk"])], offset)


def _money(rng: np.random.Generator, pop: Population, cols: dict) -> None:
    """Income, credit, goods price and annuity, tied to the size latent and to each other."""
    risk, size, n, drift = pop.latent["risk"], pop.latent["size"], pop.size, pop.is_test
    cols["NAME_EDUCATION_TYPE"] = _education(rng, pop)
    income = normal_score(rng, n, [(0.8, size), (risk_loading("AMT_INCOME_TOTAL"), risk)])
    income = from_score(
        column_facts(TRAIN, "AMT_INCOME_TOTAL"), income + TEST_INCOME_SHIFT * drift
    )
    cols["AMT_INCOME_TOTAL"] = round_to(income, 4500.0, 22500.0)
    cols["NAME_CONTRACT_TYPE"] = _contract_type(rng, pop)
    revolving = cols["NAME_CONTRACT_TYPE"] == "Revolving loans"
    credit = normal_score(rng, n, [(0.5, size), (risk_loading("AMT_CREDIT"), risk)])
    credit = from_score(column_facts(TRAIN, "AMT_CREDIT"), credit + TEST_CREDIT_SHIFT * drift)
    markup = np.where(rng.random(n) < 0.35, 1.0, rng.uniform(1.02, 1.28, n))
    goods = np.maximum(np.floor(credit / markup / 4500.0) * 4500.0, 22500.0)
    credit = np.where(markup == 1.0, goods, np.round(credit * 2) / 2)
    credit = np.where(revolving, round_to(credit / 2, 22500.0, 45000.0), credit)
    goods = np.where(revolving, credit, goods)
    goods[revolving & (rng.random(n) < 0.01)] = np.nan
    months = pick(rng, APPLICATION_TERMS, n)
    annuity = annuity_payment(credit, months, rng.uniform(0.1, 0.28, n))
    annuity = np.where(revolving, credit / 20, annuity)
    cols.update(AMT_CREDIT=credit, AMT_GOODS_PRICE=goods, AMT_ANNUITY=np.round(annuity * 2) / 2)


def _external_scores(rng: np.random.Generator, pop: Population, cols: dict) -> None:
    """EXT_SOURCE_1/2/3: strongly lower for risky clients, 1 and 3 higher for older ones."""
    risk, age, n = pop.latent["risk"], pop.latent["age"], pop.size
    for column, age_weight in (
        ("EXT_SOURCE_1", 0.35),
        ("EXT_SOURCE_2", 0.1),
        ("EXT_SOURCE_3", 0.2),
    ):
        facts = column_facts(TRAIN, column)
        score = normal_score(rng, n, [(risk_loading(column), risk), (age_weight, age)])
        rate = np.full(n, facts["missing_rate"])
        if column == "EXT_SOURCE_1":
            rate[pop.is_test] = TEST_EXT_SOURCE_1_MISSING
        miss_score = normal_score(rng, n, [(missing_loading(column), risk)])
        cols[column] = with_missing(from_score(facts, score), miss_score > ndtri(1 - rate))


def _building_bases() -> list[str]:
    """Stems of the numeric *_AVG / *_MODE / *_MEDI housing columns."""
    return [c[: -len("_AVG")] for c in schema.table_columns(TRAIN) if c.endswith("_AVG")]


def _building(rng: np.random.Generator, pop: Population, cols: dict) -> None:
    """Housing block: missing together (shared latent), AVG/MODE/MEDI at the same quantile."""
    risk, n = pop.latent["risk"], pop.size
    info, build = -pop.latent["building_info"], pop.latent["building"]
    size_like = ("APARTMENTS", "LIVINGAREA", "LIVINGAPARTMENTS", "BASEMENTAREA", "COMMONAREA")
    scores = {}
    for base in _building_bases():
        avg = f"{base}_AVG"
        rate = column_facts(TRAIN, avg)["missing_rate"]
        mask = missing_mask(rng, n, rate, [(missing_loading(avg), risk), (0.95, info)])
        weight = 0.75 if base in size_like else 0.3
        score = scores[base] = normal_score(rng, n, [(weight, build), (risk_loading(avg), risk)])
        for suffix, jitter in (("AVG", 0.0), ("MODE", 0.08), ("MEDI", 0.03)):
            column = f"{base}_{suffix}"
            noisy = score + jitter * rng.standard_normal(n)
            cols[column] = with_missing(from_score(column_facts(TRAIN, column), noisy), mask)
    total = column_facts(TRAIN, "TOTALAREA_MODE")
    mask = missing_mask(rng, n, total["missing_rate"], [(0.95, info)])
    noisy = scores["APARTMENTS"] + 0.1 * rng.standard_normal(n)
    cols["TOTALAREA_MODE"] = with_missing(from_score(total, noisy), mask)
    labels = ("FONDKAPREMONT_MODE", "HOUSETYPE_MODE", "WALLSMATERIAL_MODE", "EMERGENCYSTATE_MODE")
    for column in labels:
        cols[column] = _housing_label(rng, column, n, info)


def _housing_label(rng: np.random.Generator, column: str, n: int, info: np.ndarray):
    """A categorical housing column, missing with the rest of the block."""
    facts = column_facts(TRAIN, column)
    values = draw_category(rng, facts["frequencies"], n)
    return with_missing(values, missing_mask(rng, n, facts["missing_rate"], [(0.95, info)]))


def _social_and_enquiries(rng: np.random.Generator, pop: Population, cols: dict) -> None:
    """Social circle counts (DEF <= OBS, 60 ~ 30 days) and credit bureau enquiries."""
    risk, social, n = pop.latent["risk"], pop.latent["social"], pop.size
    obs = normal_score(rng, n, [(0.95, social)])
    defaults = normal_score(
        rng, n, [(0.45, social), (risk_loading("DEF_30_CNT_SOCIAL_CIRCLE"), risk)]
    )
    mask = missing_mask(rng, n, column_facts(TRAIN, "OBS_30_CNT_SOCIAL_CIRCLE")["missing_rate"])
    for days in (30, 60):
        noise = 0.0 if days == 30 else 0.15 * rng.standard_normal(n)
        seen = from_score(column_facts(TRAIN, f"OBS_{days}_CNT_SOCIAL_CIRCLE"), obs + noise)
        bad = from_score(column_facts(TRAIN, f"DEF_{days}_CNT_SOCIAL_CIRCLE"), defaults + noise)
        cols[f"OBS_{days}_CNT_SOCIAL_CIRCLE"] = with_missing(seen, mask)
        cols[f"DEF_{days}_CNT_SOCIAL_CIRCLE"] = with_missing(np.minimum(bad, seen), mask)
    cols["DEF_60_CNT_SOCIAL_CIRCLE"] = np.fmin(
        cols["DEF_60_CNT_SOCIAL_CIRCLE"], cols["DEF_30_CNT_SOCIAL_CIRCLE"]
    )
    enquiry = [c for c in schema.table_columns(TRAIN) if c.startswith("AMT_REQ_CREDIT_BUREAU")]
    rate, loading = column_facts(TRAIN, enquiry[0])["missing_rate"], missing_loading(enquiry[0])
    mask = missing_mask(rng, n, rate, [(loading, risk)])
    for column in enquiry:
        terms = [(0.5, pop.latent["enquiry"]), (risk_loading(column), risk)]
        values = from_score(column_facts(TRAIN, column), normal_score(rng, n, terms))
        if column.endswith("_QRT"):  # drift: more recent enquiries in application_test
            test_values = from_score(column_facts(TEST, column), normal_score(rng, n, terms))
            values = np.where(pop.is_test, test_values, values)
        cols[column] = with_missing(values, mask)


# Extra drivers of columns otherwise drawn generically: {column: [(latent, weight)]}.
EXTRA_DRIVERS = {
    "REGION_POPULATION_RELATIVE": [("region", 0.8)],
    "REGION_RATING_CLIENT": [("region", -0.9)],
    "REGION_RATING_CLIENT_W_CITY": [("region", -0.9)],
    "DAYS_REGISTRATION": [("age", -0.4)],
    "DAYS_ID_PUBLISH": [("age", -0.35)],
    "DAYS_LAST_PHONE_CHANGE": [("age", -0.1)],
}


def draw_application(rng: np.random.Generator, pop: Population) -> dict[str, np.ndarray]:
    """Every application column (TARGET excepted) for all clients."""
    cols: dict[str, np.ndarray] = {schema.CLIENT_ID: pop.ids}
    _demographics(rng, pop, cols)
    _employment(rng, pop, cols)
    _family(rng, pop, cols)
    _money(rng, pop, cols)
    _external_scores(rng, pop, cols)
    _building(rng, pop, cols)
    _social_and_enquiries(rng, pop, cols)
    for column in schema.table_columns(TRAIN):
        if column not in cols and column != schema.TARGET:
            extra = [(w, pop.latent[name]) for name, w in EXTRA_DRIVERS.get(column, [])]
            cols[column] = _generic(rng, pop, column, extra)
    floor = cols["DAYS_BIRTH"]
    cols["DAYS_REGISTRATION"] = np.maximum(cols["DAYS_REGISTRATION"], floor)
    cols["DAYS_ID_PUBLISH"] = np.maximum(cols["DAYS_ID_PUBLISH"], floor + 14 * DAYS_PER_YEAR)
    return cols
