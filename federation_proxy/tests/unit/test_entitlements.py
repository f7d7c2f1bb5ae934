"""AARC-G069 entitlements and the groups claim."""

import datetime
import urllib.parse

from hypothesis import given
from hypothesis import strategies as st
import testtools

from federation_proxy import entitlements as ent

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0)
LATER = NOW + datetime.timedelta(days=30)
EARLIER = NOW - datetime.timedelta(seconds=1)


def member(group='vo', role='member', status='active', expires_at=LATER):
    return ent.Membership(group, role, status, expires_at)


class TestEntitlement(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.issuer = ent.Issuer('geant', 'example.org', 'proxy.example.org')

    def test_vo_member(self):
        self.assertEqual(
            'urn:geant:example.org:group:vo:role=member#proxy.example.org',
            self.issuer.entitlement('vo', 'member'))

    def test_plain_group(self):
        self.assertEqual('urn:geant:example.org:group:vo:a:b'
                         '#proxy.example.org',
                         self.issuer.entitlement('vo:a:b'))

    def test_prefix_and_authority_lower_case(self):
        issuer = ent.Issuer('GEANT', 'Example.ORG', 'Proxy.Example.org')
        self.assertEqual('urn:geant:example.org:group:VO#proxy.example.org',
                         issuer.entitlement('VO'))

    def test_group_and_role_keep_their_case(self):
        self.assertEqual(
            'urn:geant:example.org:group:MyVO:Sub:role=Manager'
            '#proxy.example.org',
            self.issuer.entitlement('MyVO:Sub', 'Manager'))

    def test_without_authority(self):
        issuer = ent.Issuer('geant', 'example.org')
        self.assertEqual('urn:geant:example.org:group:vo:role=member',
                         issuer.entitlement('vo', 'member'))

    def test_reserved_characters_are_percent_encoded(self):
        self.assertEqual(
            'urn:geant:example.org:group:a%23b%2Fc%3Fd%3De%25f%40g'
            ':role=r%3Ax#proxy.example.org',
            self.issuer.entitlement(['a#b/c?d=e%f@g'], 'r:x'))

    def test_space_and_non_ascii_upper_case_hex(self):
        self.assertEqual('urn:geant:example.org:group:Minun%20Ryhm%C3%A4ni'
                         '#proxy.example.org',
                         self.issuer.entitlement('Minun Ryhmäni'))

    def test_unreserved_and_sub_delims_kept(self):
        self.assertEqual("urn:geant:example.org:group:a-b_c.d~e!$&'()*+,;"
                         '#proxy.example.org',
                         self.issuer.entitlement("a-b_c.d~e!$&'()*+,;"))

    def test_empty_group_name_refused(self):
        self.assertRaises(ValueError, self.issuer.entitlement, 'vo::x')
        self.assertRaises(ValueError, self.issuer.entitlement, '')

    def test_issuer_needs_nid_and_namespace(self):
        self.assertRaises(ValueError, ent.Issuer, '', 'example.org')
        self.assertRaises(ValueError, ent.Issuer, 'geant', '')


class TestNormalise(testtools.TestCase):

    def test_example_of_the_guideline_library(self):
        self.assertEqual(
            'urn:nid:example.org:group:Minun%20Ryhm%C3%A4ni',
            ent.normalise('UrN:NiD:ExAmPlE.oRg:group:Minun%20Ryhm%c3%a4ni'))

    def test_unreserved_percent_encoding_decoded(self):
        self.assertEqual('urn:geant:example.org:group:vo-a',
                         ent.normalise('urn:geant:example.org:group:vo%2Da'))

    def test_role_and_authority(self):
        self.assertEqual(
            'urn:geant:example.org:group:VO:role=Admin#aai.example.org',
            ent.normalise('URN:GEANT:example.ORG:GROUP:VO:ROLE=Admin'
                          '#AAI.example.org'))

    def test_namespace_with_colons(self):
        self.assertEqual('urn:mace:egi.eu:sub:group:vo',
                         ent.normalise('urn:mace:EGI.eu:Sub:group:vo'))

    def test_not_a_group_entitlement(self):
        for bad in ('urn:geant:example.org:vo', 'http://x/group:vo',
                    'urn:geant:example.org:group', 'urn:group:vo'):
            self.assertRaises(ValueError, ent.normalise, bad)

    def test_made_entitlements_are_normal(self):
        issuer = ent.Issuer('geant', 'example.org', 'p.example.org')
        for group, role in (('vo', None), ('Vo Ä:x/y', 'r=1'),
                            ('a%2D', 'Mgr')):
            made = issuer.entitlement(group, role)
            self.assertEqual(made, ent.normalise(made))


class TestCurrentMemberships(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.issuer = ent.Issuer('geant', 'example.org', 'p.example.org')

    def test_active_unexpired_counts(self):
        self.assertEqual(
            ['urn:geant:example.org:group:vo#p.example.org',
             'urn:geant:example.org:group:vo:role=member#p.example.org'],
            self.issuer.entitlements([member()], NOW))

    def test_no_expiry_counts(self):
        self.assertTrue(ent.is_current(member(expires_at=None), NOW))

    def test_expiring_now_does_not_count(self):
        self.assertFalse(ent.is_current(member(expires_at=NOW), NOW))
        self.assertEqual([], self.issuer.entitlements(
            [member(expires_at=EARLIER)], NOW))

    def test_other_statuses_do_not_count(self):
        for status in ('pending', 'suspended', 'expired', 'ACTIVE', ''):
            self.assertEqual(
                [], self.issuer.entitlements([member(status=status)], NOW),
                status)
            self.assertEqual([], ent.groups([member(status=status)], NOW))

    def test_shown_status(self):
        cases = [(('active', LATER), 'active'), (('active', None), 'active'),
                 (('active', NOW), 'expired'),
                 (('active', EARLIER), 'expired'),
                 (('suspended', EARLIER), 'suspended'),
                 (('pending', EARLIER), 'pending'),
                 (('expired', LATER), 'expired')]
        for (status, expires_at), shown in cases:
            self.assertEqual(shown, ent.shown_status(status, expires_at,
                                                     NOW),
                             (status, expires_at))

    def test_several_roles_and_groups_unique_and_sorted(self):
        got = self.issuer.entitlements([
            member('vo', 'member'), member('vo', 'manager'),
            member('vo:g', 'member'), member('vo', 'member'),
            member('other', 'member', 'suspended')], NOW)
        self.assertEqual(sorted(set(got)), got)
        self.assertEqual(5, len(got))
        self.assertFalse(any(':other' in e for e in got))

    def test_groups_claim(self):
        self.assertEqual(['vo', 'vo:g'], ent.groups(
            [member('vo:g'), member('vo'), member('vo', 'manager'),
             member('x', expires_at=EARLIER)], NOW))


_NAMES = st.text(min_size=1, max_size=12).filter(lambda s: ':' not in s)
_MEMBERSHIPS = st.lists(st.builds(
    ent.Membership,
    group=st.lists(_NAMES, min_size=1, max_size=3).map(':'.join),
    role=st.one_of(st.none(), _NAMES),
    status=st.sampled_from(['active', 'pending', 'suspended', 'expired']),
    expires_at=st.one_of(st.none(), st.datetimes(
        min_value=datetime.datetime(2000, 1, 1),
        max_value=datetime.datetime(2050, 1, 1)))), max_size=8)


def _group_of(urn):
    """The group path of an entitlement made by the test issuer."""
    body = urn.split('#', 1)[0][len('urn:geant:example.org:group:'):]
    names = [n for n in body.split(':') if not n.startswith('role=')]
    return ':'.join(urllib.parse.unquote(n) for n in names)


class TestProperties(testtools.TestCase):

    @given(_MEMBERSHIPS, st.datetimes(
        min_value=datetime.datetime(2000, 1, 1),
        max_value=datetime.datetime(2050, 1, 1)))
    def test_no_entitlement_without_a_current_membership(self, memberships,
                                                         now):
        issuer = ent.Issuer('geant', 'example.org', 'p.example.org')
        current = {m.group for m in memberships
                   if m.status == 'active' and
                   (m.expires_at is None or m.expires_at > now)}
        made = issuer.entitlements(memberships, now)
        self.assertEqual(current, {_group_of(urn) for urn in made})
        self.assertEqual(sorted(current), ent.groups(memberships, now))
        for urn in made:
            self.assertEqual(urn, ent.normalise(urn))
            self.assertEqual(1, urn.count('#'))

    @given(_MEMBERSHIPS, st.datetimes(
        min_value=datetime.datetime(2000, 1, 1),
        max_value=datetime.datetime(2050, 1, 1)))
    def test_shown_active_exactly_when_it_gives_entitlements(
            self, memberships, now):
        for m in memberships:
            self.assertEqual(
                ent.is_current(m, now),
                ent.shown_status(m.status, m.expires_at, now) == 'active')
