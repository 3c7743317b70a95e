"""The check that tells a library's own break from vasr's."""

import pytest

from tests.upstream import reader_works


def test_a_reader_failing_on_its_own_output_makes_the_test_an_xfail_naming_library_version_and_error():
    def broken() -> None:
        raise AttributeError("'super' object has no attribute '_get_arguments_from_pretrained'")

    with pytest.raises(pytest.xfail.Exception) as outcome:
        reader_works("transformers", broken)
    import transformers

    message = str(outcome.value)
    assert f"transformers {transformers.__version__}" in message and "_get_arguments_from_pretrained" in message


def test_a_reader_working_on_its_own_output_lets_the_test_go_on_to_assert_vasrs():
    ran = []
    reader_works("numpy", lambda: ran.append(True))
    assert ran == [True]
