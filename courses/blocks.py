"""StreamField blocks for module content: lessons, quizzes and practice activities.

Blocks check themselves when an author saves (a quiz with no correct answer, a pass mark over
100 % are refused with a message). Quiz answers are identified by their block ids, which
Wagtail keeps across revisions, so a learner's stored attempt still names the same answers
after an author fixes a typo.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.embeds.blocks import EmbedBlock
from wagtail.images.blocks import ImageChooserBlock


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    caption = blocks.CharBlock(required=False, max_length=250)
    alt_text = blocks.CharBlock(
        required=False, max_length=250, help_text=_("Describe the image for screen readers.")
    )

    class Meta:
        icon = "image"
        template = "courses/blocks/image.html"
        description = _("A picture, sent to phones at a small size")


class VideoBlock(blocks.StructBlock):
    video = EmbedBlock(help_text=_("A YouTube or Vimeo address."))
    transcript = blocks.TextBlock(
        required=False, help_text=_("For learners who cannot play video on their connection.")
    )

    class Meta:
        icon = "media"
        template = "courses/blocks/video.html"
        description = _("An embedded video, loaded only when the learner asks for it")


class DocumentBlock(blocks.StructBlock):
    document = DocumentChooserBlock()
    title = blocks.CharBlock(required=False, max_length=200)

    class Meta:
        icon = "doc-full"
        template = "courses/blocks/document.html"
        description = _("A file to download, e.g. a form or a handout")


class CalloutBlock(blocks.StructBlock):
    kind = blocks.ChoiceBlock(
        choices=[
            ("scenario", _("Case scenario")),
            ("tip", _("Practice tip")),
            ("warning", _("Safeguarding warning")),
        ],
        default="scenario",
    )
    title = blocks.CharBlock(max_length=200)
    body = blocks.RichTextBlock(features=["bold", "italic", "ol", "ul", "link"])

    class Meta:
        icon = "help"
        template = "courses/blocks/callout.html"
        description = _("A case scenario, tip or warning set apart from the text")


class AnswerBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=300)
    is_correct = blocks.BooleanBlock(required=False, label=_("Correct"))
    feedback = blocks.CharBlock(
        required=False, max_length=500, help_text=_("Shown after the learner answers.")
    )

    class Meta:
        icon = "tick"


class QuestionBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=500, label=_("Question"))
    kind = blocks.ChoiceBlock(
        choices=[("single", _("One answer")), ("multiple", _("Several answers"))],
        default="single",
    )
    answers = blocks.ListBlock(AnswerBlock(), min_num=2)

    class Meta:
        icon = "help"

    def clean(self, value):
        value = super().clean(value)
        correct = sum(1 for answer in value["answers"] if answer["is_correct"])
        if correct == 0:
            raise StructBlockValidationError(
                non_block_errors=[ValidationError(_("Mark at least one answer as correct."))]
            )
        if value["kind"] == "single" and correct > 1:
            raise StructBlockValidationError(
                non_block_errors=[
                    ValidationError(
                        _("A one-answer question has exactly one correct answer; found %d.")
                        % correct
                    )
                ]
            )
        return value


class QuizBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=200, default=_("Check your understanding"))
    questions = blocks.ListBlock(QuestionBlock(), min_num=1)
    pass_mark = blocks.IntegerBlock(
        default=70, min_value=0, help_text=_("Percentage of questions to get right to pass.")
    )

    class Meta:
        icon = "form"
        template = "courses/blocks/quiz.html"
        description = _("Questions scored on the server, with feedback and a pass mark")

    def clean(self, value):
        value = super().clean(value)
        if not 0 < value["pass_mark"] <= 100:
            raise StructBlockValidationError(
                block_errors={
                    "pass_mark": ValidationError(
                        _("The pass mark is a percentage between 1 and 100.")
                    )
                }
            )
        return value


class PracticeActivityBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=200)
    instructions = blocks.RichTextBlock(features=["bold", "italic", "ol", "ul"])
    competency_code = blocks.CharBlock(
        required=False,
        max_length=60,
        help_text=_("The code of the competency this activity shows, e.g. PP.5.1."),
    )

    class Meta:
        icon = "user"
        template = "courses/blocks/practice.html"
        description = _("A task done in real work, signed off by a supervisor")


class ModuleBodyBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(
        features=["h2", "h3", "bold", "italic", "ol", "ul", "link", "document-link"],
        template="courses/blocks/text.html",
    )
    image = ImageBlock()
    video = VideoBlock()
    document = DocumentBlock()
    callout = CalloutBlock()
    quiz = QuizBlock()
    practice = PracticeActivityBlock()

    class Meta:
        block_counts = {"quiz": {"max_num": 1}}
