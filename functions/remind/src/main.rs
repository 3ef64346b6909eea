//! The scheduled job that reminds both parties before sessions and clients before payment deadlines.

fn main() -> Result<(), kikao_lambda::Error> {
    kikao_lambda::serve_reminders()
}
