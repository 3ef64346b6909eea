//! The scheduled job that expires unanswered and unpaid bookings.

fn main() -> Result<(), kikao_lambda::Error> {
    kikao_lambda::serve_expiry()
}
