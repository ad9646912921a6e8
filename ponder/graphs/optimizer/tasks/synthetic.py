"""The built-in, seeded synthetic task set: arithmetic word problems and multiple-choice facts
with known answers. Small enough for a 135M model to get some right, so graphs can differ.

``SyntheticTask(n=40, seed=0)`` gives ``n`` items (alternating kinds); the same seed gives the
same items, options in the same order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ponder.agents.solver import Query
from ponder.text import normalize_answer

NAMES = ("Tom", "Ann", "Sam", "Lily", "Ben", "Mia", "Max", "Eva")
THINGS = ("apples", "pens", "books", "cards", "stones", "eggs", "balls", "coins")

#: (question, correct answer, three wrong answers)
FACTS = (
    ("What is the capital of France?", "Paris", ("Rome", "Madrid", "Berlin")),
    ("What is the capital of Japan?", "Tokyo", ("Beijing", "Seoul", "Bangkok")),
    ("What is the capital of Italy?", "Rome", ("Paris", "Vienna", "Athens")),
    ("Which animal barks?", "dog", ("cat", "cow", "fish")),
    ("Which animal says moo?", "cow", ("dog", "duck", "horse")),
    ("What colour is the sky on a clear day?", "blue", ("green", "red", "black")),
    ("What colour is grass?", "green", ("blue", "purple", "white")),
    ("How many days are in a week?", "seven", ("five", "ten", "twelve")),
    ("How many legs does a spider have?", "eight", ("six", "four", "ten")),
    ("What do bees make?", "honey", ("milk", "silk", "wool")),
    ("Which planet do we live on?", "Earth", ("Mars", "Venus", "Jupiter")),
    ("What is frozen water called?", "ice", ("steam", "sand", "glass")),
    ("Which is the largest ocean?", "Pacific", ("Atlantic", "Indian", "Arctic")),
    ("What gas do people breathe in to live?", "oxygen", ("helium", "neon", "argon")),
    ("Which fruit is yellow and long?", "banana", ("apple", "grape", "cherry")),
    ("What is the opposite of hot?", "cold", ("warm", "big", "fast")),
    ("Which season comes after winter?", "spring", ("autumn", "summer", "winter")),
    ("What do cows drink?", "water", ("oil", "milk", "juice")),
    ("Which instrument has black and white keys?", "piano", ("drum", "flute", "violin")),
    ("What is the first month of the year?", "January", ("March", "June", "October")),
    ("Which shape has three sides?", "triangle", ("square", "circle", "hexagon")),
    ("What does a thermometer measure?", "temperature", ("weight", "length", "speed")),
    ("Which bird is a symbol of peace?", "dove", ("crow", "eagle", "owl")),
    ("What is the boiling point of water in Celsius?", "100", ("50", "0", "212")),
)


@dataclass(frozen=True)
class Item:
    id: str
    query: Query
    answer: str


def _word_problem(rng: random.Random, i: int) -> Item:
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    kind = rng.choice(("add", "sub", "mul"))
    if kind == "add":
        a, b = rng.randint(2, 9), rng.randint(2, 9)
        text, ans = f"{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now?", a + b
    elif kind == "sub":
        a = rng.randint(6, 15)
        b = rng.randint(1, a - 1)
        text, ans = f"{name} has {a} {thing} and gives away {b}. How many {thing} does {name} have left?", a - b
    else:
        a, b = rng.randint(2, 5), rng.randint(2, 5)
        text, ans = f"{name} has {a} bags with {b} {thing} in each bag. How many {thing} does {name} have?", a * b
    return Item(f"math-{i}", Query(text, kind="math"), str(ans))


def _fact(rng: random.Random, i: int, fact) -> Item:
    question, right, wrong = fact
    options = [right, *wrong]
    rng.shuffle(options)
    return Item(f"fact-{i}", Query(question, kind="choice", choices=tuple(options)), chr(65 + options.index(right)))


class SyntheticTask:
    """Seeded arithmetic and multiple-choice items; ``score`` is exact match of the parsed answer."""

    name = "synthetic"
    prompt_tokens = 90  # system + one worked example + the question, for the cost model

    def __init__(self, n: int = 40, *, seed: int = 0, kinds: tuple[str, ...] = ("math", "choice")):
        rng = random.Random(seed)
        facts = list(FACTS)
        rng.shuffle(facts)
        items: list[Item] = []
        for i in range(n):
            kind = kinds[i % len(kinds)]
            if kind == "math":
                items.append(_word_problem(rng, i))
            else:
                items.append(_fact(rng, i, facts[(i // len(kinds)) % len(facts)]))
        self.items = items

    def split(self, dev: int) -> tuple[list[Item], list[Item]]:
        """The first ``dev`` items (for optimisation) and the rest (held out)."""
        return self.items[:dev], self.items[dev:]

    @staticmethod
    def score(item: Item, answer: str) -> float:
        if item.query.kind == "math":
            return float(answer.strip() == item.answer)
        return float(normalize_answer(answer) == normalize_answer(item.answer))
