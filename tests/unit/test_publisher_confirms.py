"""Counting the broker's confirms of a window (helpdesk.messaging._Confirms): RabbitMQ may ack
several messages at once (`multiple`) and in any order, and nack some of them."""
from collections import defaultdict
from unittest import mock

from helpdesk.messaging import _Confirms


def confirms_of(published):
    channel = mock.Mock(events=defaultdict(set))
    confirms = _Confirms(channel)
    assert channel.confirm_select.called
    for _ in range(published):
        confirms.sent()
    (ack,), (nack,) = channel.events["basic_ack"], channel.events["basic_nack"]
    return confirms, ack, nack


def test_a_multiple_ack_confirms_every_message_up_to_its_tag_and_single_ones_only_their_own():
    confirms, ack, _ = confirms_of(5)
    ack(4, False)
    assert confirms.unconfirmed == {1, 2, 3, 5}
    ack(3, True)
    assert confirms.unconfirmed == {5}
    ack(5, False)
    assert confirms.unconfirmed == set() and confirms.nacked == 0


def test_nacked_messages_are_settled_and_counted_once():
    confirms, ack, nack = confirms_of(4)
    nack(2, True)
    nack(2, False)  # again: already settled, not counted twice
    ack(4, True)
    assert confirms.unconfirmed == set() and confirms.nacked == 2
