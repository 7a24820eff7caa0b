"""The admin dashboard's list of the reviews a user has let run past their due time."""

from wagtail.admin.ui.components import Component

from .tasks import overdue_reviews


class OverdueReviewsPanel(Component):
    name = "overdue_reviews"
    template_name = "workflows/home/overdue_reviews.html"
    order = 215  # right above Wagtail's "Awaiting your review" (220), which lists them too

    def get_context_data(self, parent_context):
        return {"reviews": overdue_reviews(user=parent_context["request"].user)}
