"""Text for the slide "CNN для текста": the slide's sentence, a tokenizer, and an n-gram task.

The slide's worked example turns each word of one Russian sentence into an embedding and slides
convolutions of width 3 along the words. :func:`tokenize` and :class:`Vocabulary` give the word
ids; :func:`make_ngram_task` generates a small classification task in which the answer depends
on word n-grams, not on which words occur, so that a CNN over words (Kim, 2014) has something to
find that a bag of words cannot.

How the n-gram task is generated (:func:`make_ngram_task`): a sentence is a short, city-themed
"review" made of

* 4 to 12 neutral filler words (``FILLER``), each a chunk of its own;
* exactly one opinion phrase ``[не] [очень] ADJ`` with an adjective from ``POSITIVE`` or
  ``NEGATIVE``; the modifiers are drawn independently, each with probability 1/2;
* 0 to 2 distractor chunks ``не FILLER`` or ``очень FILLER`` ("не далеко", "очень старый").

The chunks are shuffled and joined. The label is the opinion's polarity, flipped when the
adjective is negated: "красивый", "очень красивый" and "не грязный" are positive, "не красивый"
and "не очень красивый" negative. Since "не" occurs in distractors just as often, counting words
cannot tell "не грязный" from "грязный ... не далеко" (the best bag-of-words rule,
:func:`bag_of_words_accuracy`, is right about 78 % of the time), while the bigram / trigram
ending in the adjective decides every example.
Sentences are drawn with ``random.Random(seed)``, so a seed gives the same data everywhere.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import KW_ONLY, dataclass

import torch

from lecture21.data.base import Dataset

#: The sentence of the slide "CNN для текста".
SLIDE_SENTENCE = (
    "Основной достопримечательностью города является собор на центральной площади и "
    "красивый парк."
)

PAD, UNK = "<pad>", "<unk>"
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")

FILLER = (
    "город", "собор", "парк", "площадь", "улица", "мост", "река", "музей", "театр", "вокзал",
    "рынок", "дом", "сад", "башня", "фонтан", "старый", "новый", "большой", "тихий", "шумный",
    "далеко", "рядом", "летом", "зимой", "там", "здесь", "был", "стоит", "видно", "центр",
)
POSITIVE = ("красивый", "чистый", "уютный")
NEGATIVE = ("грязный", "скучный", "серый")
NEGATION, INTENSIFIER = "не", "очень"
NGRAM_CLASSES = ("отрицательный", "положительный")


def tokenize(text: str) -> list[str]:
    """Lower-cased words of ``text``; punctuation is dropped ("парк." -> "парк")."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


class Vocabulary:
    """Word <-> id. Id 0 is the padding token, id 1 stands for words not in the vocabulary."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words: list[str] = [PAD, UNK]
        self.ids: dict[str, int] = {PAD: 0, UNK: 1}
        for word in words:
            if word not in self.ids:
                self.ids[word] = len(self.words)
                self.words.append(word)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def pad_id(self) -> int:
        return 0

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.ids.get(token, 1) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.words[int(i)] for i in ids]

    def encode_batch(self, sentences: Sequence[Sequence[str]], min_length: int = 1
                     ) -> torch.Tensor:
        """int64 ``(N, L)`` ids, right-padded with 0 to the longest sentence (>= min_length)."""
        if not sentences:
            raise ValueError("sentences must hold at least one tokenized sentence, got none")
        length = max(min_length, *(len(s) for s in sentences))
        batch = torch.zeros(len(sentences), length, dtype=torch.int64)
        for row, tokens in enumerate(sentences):
            batch[row, : len(tokens)] = torch.tensor(self.encode(tokens), dtype=torch.int64)
        return batch


@dataclass(frozen=True)
class NgramTask(Dataset):
    """The generated n-gram task: padded ids ``(N, L)`` (``train_x``), labels ``(N,)``, and
    the sentences."""

    _: KW_ONLY
    train_sentences: tuple[tuple[str, ...], ...]
    test_sentences: tuple[tuple[str, ...], ...]
    vocab: Vocabulary


def ngram_label(tokens: Sequence[str]) -> int:
    """The task's rule: 1 (positive) or 0, from the words just before the one opinion adjective."""
    positions = [i for i, t in enumerate(tokens) if t in POSITIVE or t in NEGATIVE]
    if len(positions) != 1:
        raise ValueError(f"a task sentence has exactly one opinion adjective, got {tokens!r}")
    i = positions[0]
    negated = (i >= 1 and tokens[i - 1] == NEGATION) or (
        i >= 2 and tokens[i - 2] == NEGATION and tokens[i - 1] == INTENSIFIER
    )
    return int((tokens[i] in POSITIVE) != negated)


def make_sentence(rng: random.Random) -> tuple[list[str], int]:
    """One sentence of the task and its label (see the module docstring)."""
    chunks = [[rng.choice(FILLER)] for _ in range(rng.randint(4, 12))]
    positive = rng.random() < 0.5
    negated = rng.random() < 0.5
    phrase = [NEGATION] if negated else []
    if rng.random() < 0.5:
        phrase.append(INTENSIFIER)
    phrase.append(rng.choice(POSITIVE if positive else NEGATIVE))
    chunks.append(phrase)
    for _ in range(rng.randint(0, 2)):
        chunks.append([rng.choice((NEGATION, INTENSIFIER)), rng.choice(FILLER)])
    rng.shuffle(chunks)
    return [word for chunk in chunks for word in chunk], int(positive != negated)


def make_ngram_task(train_size: int = 4000, test_size: int = 1000, seed: int = 0,
                    min_length: int = 5) -> NgramTask:
    """Generate the n-gram task; ``min_length`` pads short batches for the widest filter."""
    for name, value in (("train_size", train_size), ("test_size", test_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    rng = random.Random(seed)
    vocab = Vocabulary([*FILLER, *POSITIVE, *NEGATIVE, NEGATION, INTENSIFIER])
    parts: dict[str, object] = {}
    for split, size in (("train", train_size), ("test", test_size)):
        drawn = [make_sentence(rng) for _ in range(size)]
        sentences = tuple(tuple(words) for words, _ in drawn)
        parts[f"{split}_x"] = vocab.encode_batch(sentences, min_length)
        parts[f"{split}_y"] = torch.tensor([label for _, label in drawn])
        parts[f"{split}_sentences"] = sentences
    return NgramTask(**parts, classes=NGRAM_CLASSES, vocab=vocab,
                     source=f"сгенерированные отзывы (seed {seed})")


def bag_of_words_accuracy(task: NgramTask) -> float:
    """Test accuracy of the majority rule on three counts: the opinion adjective and how many
    times "не" and "очень" occur.

    For each such combination the rule answers the majority label of the training set. It
    ignores the sentence's length and its filler words, which the generator draws independently
    of the label, and every word order, so it is the Bayes rule of those three counts only, not
    of every bag of words; about 78 % on this task. :func:`count_logistic_regression` is the
    ordinary bag-of-words baseline.
    """

    def key(tokens: Sequence[str]) -> tuple[str, int, int]:
        adjective = next(t for t in tokens if t in POSITIVE or t in NEGATIVE)
        return adjective, tokens.count(NEGATION), tokens.count(INTENSIFIER)

    votes: dict[tuple[str, int, int], list[int]] = {}
    for tokens, label in zip(task.train_sentences, task.train_y.tolist()):
        votes.setdefault(key(tokens), [0, 0])[label] += 1
    correct = 0
    for tokens, label in zip(task.test_sentences, task.test_y.tolist()):
        counts = votes.get(key(tokens), [1, 0])
        correct += int(int(counts[1] > counts[0]) == label)
    return correct / len(task.test_sentences)


def count_logistic_regression(task: NgramTask, ngram_range: tuple[int, int] = (1, 1)) -> float:
    """Test accuracy of scikit-learn's logistic regression on word counts (a bag of words;
    ``ngram_range=(1, 2)`` adds the counts of word pairs, which see some of the order).

    The usual baseline of text classification that Kim (2014) compares with: every word (or
    n-gram) of the training sentences is a feature, its count in a sentence the value.
    """
    if (len(ngram_range) != 2 or not all(isinstance(n, int) for n in ngram_range)
            or not 1 <= ngram_range[0] <= ngram_range[1]):
        raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high, got "
                         f"{ngram_range!r}")
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    # The sentences are already token lists: the vectorizer only counts them.
    vectorizer = CountVectorizer(analyzer=lambda tokens: _ngrams(tokens, ngram_range))
    train = vectorizer.fit_transform(task.train_sentences)
    classifier = LogisticRegression(max_iter=2000).fit(train, task.train_y.numpy())
    predicted = classifier.predict(vectorizer.transform(task.test_sentences))
    return float((predicted == task.test_y.numpy()).mean())


def _ngrams(tokens: Sequence[str], ngram_range: tuple[int, int]) -> list[str]:
    low, high = ngram_range
    return [" ".join(tokens[i:i + n]) for n in range(low, high + 1)
            for i in range(len(tokens) - n + 1)]
