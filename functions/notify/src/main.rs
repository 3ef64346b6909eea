//! The table stream's consumer: notifies the other party of each booking event.

fn main() -> Result<(), kikao_lambda::Error> {
    kikao_lambda::serve_notifier()
}
