"""The regulator's workspace, the register and the CPD pages in French."""

from django.urls import reverse


def test_the_workspace_pages_speak_french(client, bodies):
    client.force_login(bodies.kenya_regulator)
    french = {"HTTP_ACCEPT_LANGUAGE": "fr"}
    for name, heading in [
        ("regulation:workspace", "Statistiques des effectifs"),
        ("regulation:heat_map", "Couverture des compétences par région"),
        ("regulation:planning", "Travailleurs pour 100 000 enfants"),
        ("regulation:cpd_requirements", "Exigences de formation professionnelle continue"),
        ("regulation:api_keys", "Clés d’API"),
    ]:
        page = client.get(reverse(name), **french).content.decode()
        assert heading in page, name


def test_the_register_and_the_cpd_record_speak_french(client, bodies, trainee):
    page = client.get(
        reverse("regulation:register_body", args=["kenya"]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Registre des travailleurs certifiés" in page
    # A French-speaking learner: the profile's language is the site's from sign-in on.
    trainee.learner_profile.preferred_language = "fr"
    trainee.learner_profile.save(update_fields=["preferred_language"])
    client.force_login(trainee)
    page = client.get(reverse("regulation:cpd_ledger"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Votre formation continue" in page and "Enregistrer une activité" in page
    page = client.get(reverse("lms:profile"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Me faire figurer au registre public" in page
