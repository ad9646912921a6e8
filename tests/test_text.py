from ponder.text import extract_short_answer, majority_vote, normalize_answer


def test_normalize_answer_squad_rules():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("an Apple, a day") == "apple day"


def test_extract_short_answer():
    assert extract_short_answer("Paris.") == "Paris"
    assert extract_short_answer("Let me think.\nAnswer: Barack Obama") == "Barack Obama"
    assert extract_short_answer("The answer is: 42.") == "42"
    assert extract_short_answer("**Rome**\nbecause it is the capital") == "Rome"
    # Markdown echoed from the passages
    assert extract_short_answer("# Dijon: # Dijon: # Eiffel Tower") == "Dijon"
    assert extract_short_answer("- Lord Byron\n- Ada") == "Lord Byron"
    assert extract_short_answer("-5 degrees") == "-5 degrees" and extract_short_answer("C# 12") == "C# 12"


def test_majority_vote_normalises_and_breaks_ties_by_first_seen():
    answer, tally = majority_vote(["Paris", "paris.", "Lyon", "The Paris", ""])
    assert normalize_answer(answer) == "paris"
    assert tally[answer] == 3
    assert majority_vote(["x", "y"])[0] == "x"
    assert majority_vote(["A", "B", "a"])[0] == "A"  # choice letters survive normalisation
    assert majority_vote([])[0] == ""
    weighted, _ = majority_vote(["x", "y", "y"], weights=[5.0, 1.0, 1.0])
    assert weighted == "x"
