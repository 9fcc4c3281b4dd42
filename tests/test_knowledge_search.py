"""The knowledge base's search, in-process on a migrated database (SQLite, or PostgreSQL
with TEST_DATABASE_URL): any-word matching, stems and accents, ranking by BM25 over the
same stems on both databases, drafts and other sites left out, typed syntax read as words."""
from collections import Counter

import pytest
from sqlalchemy import delete, select

from chat import knowledge
from chat.extensions import db
from chat.knowledge_search import query_terms, recount_terms, search
from chat.models import Article, ArticleTerm, Site

CORPUS = [
    ("How long does shipping take?", "shipping, delivery",
     "We ship every order within one working day.\n\nDelivery takes 2-3 days in France and 5-7 days elsewhere."),
    ("Returns and refunds", "returns, refund",
     "You can return any item within 30 days.\n\nRefunds reach your card 5 business days after we receive it."),
    ("Payment methods", "payment, card",
     "We take Visa, Mastercard and PayPal.\n\nYour card is charged when the order ships."),
    ("Opening hours", "hours, contact",
     "The shop is open Monday to Friday, 9:00 to 18:00 (Paris time)."),
    ("Size guide", "sizes, fit",
     "Our sizes run small: choose one size up.\n\nThe size chart is on every product page."),
    ("Café and crème products", "coffee",
     "Our café blend is roasted every week."),
    ("Gift cards", "gift",
     "Gift cards are sent by email and never expire."),
]


@pytest.fixture
def corpus(site):
    return {title: knowledge.save(site, title, body, tags, published=True) for title, tags, body in CORPUS}


def titles(hits):
    return [hit.article.title for hit in hits]


def test_a_question_finds_the_article_that_answers_it_first(site, corpus):
    hits = search(site.id, "how long does shipping take?")
    assert titles(hits)[0] == "How long does shipping take?"
    assert hits[0].passage == "We ship every order within one working day."


def test_any_word_matches_and_stems_join_forms_of_a_word(site, corpus):
    assert titles(search(site.id, "when will my refund arrive"))[0] == "Returns and refunds"
    assert titles(search(site.id, "do you ship to Spain?", k=1)) == ["How long does shipping take?"]
    assert titles(search(site.id, "what sizing should I pick", k=1)) == ["Size guide"]


def test_the_ranking_weighs_rare_words_and_titles(site, corpus):
    # "card" is in two articles, "payment" in one title: Payment methods first, then the other card article.
    assert titles(search(site.id, "card payment"))[:2] == ["Payment methods", "Gift cards"]
    hits = search(site.id, "card payment")
    assert hits[0].score > hits[1].score and hits[0].matched == 2 and hits[1].matched == 1


def test_accents_do_not_matter(site, corpus):
    assert titles(search(site.id, "cafe creme", k=1)) == ["Café and crème products"]
    assert titles(search(site.id, "CAFÉ", k=1)) == ["Café and crème products"]


def test_what_a_visitor_types_is_never_query_syntax(site, corpus):
    for question in ['what\'s "the" refund*', "refund OR NEAR(x y)", "-refund AND (", "refund' | 'x", "refund\\"]:
        assert titles(search(site.id, question, k=1)) == ["Returns and refunds"], question


def test_nothing_to_search_for_finds_nothing(site, corpus):
    assert search(site.id, "") == []
    assert search(site.id, "how are you?") == []          # stop words only
    assert search(site.id, "zebra helicopter") == []


def test_drafts_and_other_sites_are_not_found(site, corpus):
    other = Site(key="other", name="Other")
    db.session.add(other)
    db.session.commit()
    knowledge.save(other, "Shipping to the moon", "We ship to the moon.", "shipping", published=True)
    knowledge.save(site, "Secret shipping draft", "Draft about shipping.", "shipping", published=False)
    found = titles(search(site.id, "shipping", k=10))
    assert found == ["How long does shipping take?", "Payment methods"]      # "...when the order ships."


def test_a_changed_article_is_found_by_its_new_words(site, corpus):
    article = corpus["Gift cards"]
    knowledge.save(site, "Gift vouchers", "Vouchers are sent by post.", "gift", published=True, article=article)
    assert titles(search(site.id, "voucher", k=1)) == ["Gift vouchers"]
    assert search(site.id, "expire") == []
    knowledge.delete(article)
    assert search(site.id, "voucher") == []


def test_query_terms_are_distinct_bounded_stems():
    assert query_terms("Shipping shipped SHIPS to Paris!") == ["ship", "pari"]
    assert len(query_terms(" ".join(f"word{n}" for n in range(50)))) == 12


def test_a_large_knowledge_base_finds_candidates_by_the_questions_rarer_words():
    from chat.knowledge_search import finding_terms
    often = {"ship": 900, "order": 700, "norway": 3, "zebra": 0}
    assert finding_terms(["ship", "norway"], often, 1000) == ["norway"]
    assert finding_terms(["ship", "order"], often, 1000) == ["ship", "order"]        # no rarer word: all
    assert finding_terms(["ship", "zebra"], often, 1000) == ["ship", "zebra"]        # a word in no article finds none
    assert finding_terms(["ship", "norway"], often, 500) == ["ship", "norway"]       # a small one: every word


def stored_word_counts():
    return dict(db.session.execute(select(ArticleTerm.term, ArticleTerm.articles)).all())


def recounted_word_counts():
    counts = Counter()
    for article in db.session.scalars(select(Article)):
        counts.update(set(f"{article.search_title} {article.search_body}".split()))
    return dict(counts)


def test_each_words_article_count_follows_every_save_change_and_delete(site, corpus):
    assert stored_word_counts() == recounted_word_counts()
    assert stored_word_counts()["card"] == 3                 # Payment methods, Returns and refunds, Gift cards
    gift = corpus["Gift cards"]
    knowledge.save(site, "Gift vouchers", "Vouchers are sent by email; a zebra delivers none.", "gift",
                   published=True, article=gift)
    assert stored_word_counts() == recounted_word_counts()
    assert stored_word_counts()["card"] == 2 and stored_word_counts()["zebra"] == 1
    knowledge.delete(gift)
    assert stored_word_counts() == recounted_word_counts()
    assert "zebra" not in stored_word_counts() and "voucher" not in stored_word_counts()
    # The search weighs words by these counts, and finds what holds them.
    assert sorted(titles(search(site.id, "card", k=3))) == ["Payment methods", "Returns and refunds"]


def test_the_counts_made_again_from_the_articles_match_the_kept_ones(site, corpus):
    kept = stored_word_counts()
    db.session.execute(delete(ArticleTerm))
    db.session.commit()
    recount_terms()
    assert stored_word_counts() == kept
