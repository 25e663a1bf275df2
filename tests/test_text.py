"""The slide's sentence, the tokenizer, the n-gram task, and TextCNN."""

import pytest
import torch
import torch.nn.functional as F

from lecture21 import models
from lecture21.data import text
from lecture21.models.text_cnn import TextCNN
from lecture21.text import (
    conv_output_by_hand,
    influential_filters,
    slide_example,
    strongest_ngrams,
)


def test_tokenizer_drops_punctuation_and_lowercases():
    words = text.tokenize(text.SLIDE_SENTENCE)
    assert words[0] == "основной" and words[-1] == "парк"
    assert len(words) == 11
    assert text.tokenize("Ростов-на-Дону, 2024 г.!") == ["ростов-на-дону", "2024", "г"]
    with pytest.raises(ValueError, match="text must be a str"):
        text.tokenize(None)


def test_vocabulary_pads_and_marks_unknown_words():
    vocab = text.Vocabulary(["а", "б", "а"])
    assert len(vocab) == 4 and vocab.encode(["б", "в"]) == [3, 1]
    batch = vocab.encode_batch([["а"], ["а", "б", "а"]], min_length=5)
    assert batch.tolist() == [[2, 0, 0, 0, 0], [2, 3, 2, 0, 0]]
    assert vocab.decode([2, 3]) == ["а", "б"]
    with pytest.raises(ValueError, match="at least one"):
        vocab.encode_batch([])


def test_ngram_task_is_seeded_balanced_and_labelled_by_its_rule():
    a, b = text.make_ngram_task(500, 200, seed=1), text.make_ngram_task(500, 200, seed=1)
    assert torch.equal(a.train_x, b.train_x) and a.train_sentences == b.train_sentences
    assert not torch.equal(a.train_x, text.make_ngram_task(500, 200, seed=2).train_x)
    assert 0.4 < a.train_y.float().mean() < 0.6
    for sentence, label, row in zip(a.train_sentences, a.train_y, a.train_x):
        assert text.ngram_label(sentence) == int(label)
        assert a.vocab.decode(row[: len(sentence)]) == list(sentence)
        assert (row[len(sentence):] == 0).all()
    assert a.train_x.shape[1] >= 5


def test_ngram_label_reads_negation_and_intensifier():
    assert text.ngram_label("парк очень красивый".split()) == 1
    assert text.ngram_label("парк не очень красивый".split()) == 0
    assert text.ngram_label("не далеко парк грязный".split()) == 0
    assert text.ngram_label("парк не грязный".split()) == 1
    assert text.ngram_label("не старый очень серый".split()) == 0
    with pytest.raises(ValueError, match="exactly one"):
        text.ngram_label("парк красивый грязный".split())


def test_words_alone_cannot_decide_the_task():
    """Bag-of-words classifiers (scikit-learn, which librosa brings) stay far below a CNN."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    task = text.make_ngram_task(3000, 1000, seed=0)
    bags = CountVectorizer(token_pattern=r"\S+")
    x_train = bags.fit_transform(" ".join(s) for s in task.train_sentences)
    x_test = bags.transform(" ".join(s) for s in task.test_sentences)
    for classifier in (LogisticRegression(max_iter=2000), DecisionTreeClassifier(random_state=0)):
        classifier.fit(x_train, task.train_y.numpy())
        assert classifier.score(x_test, task.test_y.numpy()) < 0.85
    # the best rule on word counts, computed without a library, agrees
    assert 0.65 < text.bag_of_words_accuracy(task) < 0.85
    # the smallest case, written out: the same three words, the order decides
    assert text.ngram_label(["не", "парк", "грязный"]) == 0
    assert text.ngram_label(["парк", "не", "грязный"]) == 1


def test_count_logistic_regression_is_sklearn_on_counts():
    """Our baseline equals the plain scikit-learn pipeline above; trigram counts solve the task."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    task = text.make_ngram_task(2000, 500, seed=1)
    bags = CountVectorizer(token_pattern=r"\S+", ngram_range=(1, 2))
    x_train = bags.fit_transform(" ".join(s) for s in task.train_sentences)
    reference = LogisticRegression(max_iter=2000).fit(x_train, task.train_y.numpy()).score(
        bags.transform(" ".join(s) for s in task.test_sentences), task.test_y.numpy())
    assert text.count_logistic_regression(task, (1, 2)) == pytest.approx(reference, abs=0.01)
    assert text.count_logistic_regression(task) < 0.6  # linear in word counts: near chance
    assert text.count_logistic_regression(task, (1, 3)) > 0.95
    with pytest.raises(ValueError, match="ngram_range"):
        text.count_logistic_regression(task, (2, 1))


def test_text_cnn_shapes_and_fixed_length_features():
    model = models.create("text_cnn", "text", num_classes=3, vocab_size=50, filters=7)
    assert isinstance(model, TextCNN)
    for length in (5, 9, 40):
        ids = torch.randint(1, 50, (4, length))
        assert model(ids).shape == (4, 3)
        assert model.features(ids).shape == (4, 7 * 3)
        maps = model.feature_maps(ids)
        assert [m.shape[2] for m in maps] == [length - 2, length - 3, length - 4]
    with pytest.raises(ValueError, match="at least 5 words"):
        model(torch.randint(1, 50, (2, 4)))
    with pytest.raises(ValueError, match="int64"):
        model(torch.zeros(2, 6))
    with pytest.raises(ValueError, match="widths"):
        TextCNN(10, widths=())


def test_text_cnn_matches_a_plain_torch_computation():
    """Kim's model written with functional ops: embed, conv, relu, max over time, linear."""
    torch.manual_seed(0)
    model = TextCNN(30, 2, embed_dim=6, widths=(2, 3), filters=4, dropout=0.5).eval()
    ids = torch.randint(0, 30, (3, 8))
    x = model.embedding.weight[ids].transpose(1, 2)
    pooled = [F.conv1d(x, c.weight, c.bias).relu().max(dim=2).values for c in model.convs]
    expected = F.linear(torch.cat(pooled, 1), model.classifier.weight, model.classifier.bias)
    torch.testing.assert_close(model(ids), expected)


def test_slide_example_and_the_hand_computed_output():
    example = slide_example()
    assert example.ids.shape == (1, 11)
    conv = example.model.convs[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (4, 3, (3,))
    feature_map = example.model.feature_maps(example.ids, activate=False)[0][0].detach()
    assert feature_map.shape == (3, 11 - 2)
    x = example.model.embed(example.ids)[0]
    for f in range(3):
        for t in range(9):
            value, formula = conv_output_by_hand(conv.weight, conv.bias, x, f, t)
            assert value == pytest.approx(float(feature_map[f, t]), abs=1e-5)
            # the written-out sum, as printed, is the same number
            assert eval(formula.replace("·", "*")) == pytest.approx(value, abs=1e-4)
    assert formula.count("·") == 12  # 3 words x 4 coordinates
    # parameters are rounded to one decimal, so the products are readable
    assert torch.equal(conv.weight, conv.weight.round(decimals=1))
    # the caller's random stream is left alone
    torch.manual_seed(5)
    first = torch.rand(1)
    torch.manual_seed(5)
    slide_example(seed=3)
    assert torch.equal(torch.rand(1), first)
    with pytest.raises(ValueError, match="position"):
        conv_output_by_hand(conv.weight, conv.bias, x, 0, 9)


def test_global_max_pooling_gives_one_size_for_any_sentence():
    example = slide_example()
    short = torch.tensor([example.vocab.encode(text.tokenize("Красивый собор на площади"))])
    assert example.model.features(short).shape == example.model.features(example.ids).shape


def test_strongest_ngrams_finds_a_planted_trigram():
    """A filter that is exactly one trigram's embedding, end to end, responds to it most."""
    torch.manual_seed(0)
    model = TextCNN(10, 2, embed_dim=10, widths=(3,), filters=2, dropout=0.0)
    with torch.no_grad():
        model.embedding.weight.copy_(torch.eye(10))
        model.convs[0].weight.zero_()
        model.convs[0].bias.zero_()
        for j, word in enumerate((4, 7, 5)):  # filter 0 detects the trigram 4 7 5
            model.convs[0].weight[0, word, j] = 1.0
        model.classifier.weight.zero_()
        model.classifier.weight[1, 0] = 3.0
    words = [f"w{i}" for i in range(10)]
    ids = torch.tensor([[2, 4, 7, 5, 3, 0], [4, 7, 2, 3, 5, 6], [6, 4, 7, 5, 0, 0]])
    found = strongest_ngrams(model, ids, words, 3, [0], top=2)[0]
    assert found[0] == ("w4 w7 w5", pytest.approx(3.0), 2)
    assert found[1][1] == pytest.approx(2.0)  # "w4 w7 w2" or "... w4 w7": two of three words
    assert influential_filters(model, 3, k=1) == [0]
    # windows reaching into padding (id 0) are not n-grams of the text
    assert all("w0" not in gram for gram, _, _ in strongest_ngrams(model, ids, words, 3, [1],
                                                                    top=20)[1])


def test_text_cnn_learns_the_ngram_task_bag_of_words_cannot():
    from lecture21.train import HyperParams, TensorData, fit

    task = text.make_ngram_task(1500, 500, seed=0)
    data = TensorData(task.train_x, task.train_y, task.test_x, task.test_y,
                      task.classes)
    hp = HyperParams(epochs=6, batch_size=50, lr=0.05, label_smoothing=0.0, crop_padding=0,
                     flip=False, tta_flip=False)
    model = models.create("text_cnn", "text", num_classes=2, vocab_size=len(task.vocab),
                          filters=16)
    result = fit(model, data, hp, progress=False, device="cpu")
    assert result.test_accuracy > 0.85, result.history
