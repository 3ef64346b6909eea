//! Messages on AWS: an SMS goes straight to the recipient's E.164 number through SNS as a
//! transactional message; an email goes to the recipient's address through SES (v2), from the
//! practice's verified domain. SES rather than an SNS topic with per-person subscriptions:
//! a person gets their appointments without first confirming a subscription, the mail comes
//! from the practice's own address rather than `no-reply@sns.amazonaws.com` with a footer that
//! unsubscribes from everything, and no subscription can be pointed at everyone's messages.

use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, MessageTag};
use aws_sdk_sns::types::MessageAttributeValue;
use kikao_core::ports::{Envelope, Message, Notifier, NotifyError};

pub struct AwsNotifier {
    sns: aws_sdk_sns::Client,
    ses: aws_sdk_sesv2::Client,
    /// `Kikao <no-reply@practice.example>`: an address at a domain SES has verified.
    from: String,
    sender_id: Option<String>,
}

fn failed(e: impl std::fmt::Display) -> NotifyError {
    NotifyError(e.to_string())
}

fn attr(v: &str) -> Result<MessageAttributeValue, NotifyError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .map_err(failed)
}

fn text(s: &str) -> Result<Content, NotifyError> {
    Content::builder()
        .data(s)
        .charset("UTF-8")
        .build()
        .map_err(failed)
}

/// SES tag values allow letters, digits, `_`, `-` and `.` only.
fn tag(name: &str, value: &str) -> Result<MessageTag, NotifyError> {
    let value: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    MessageTag::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(failed)
}

impl AwsNotifier {
    pub fn new(
        sns: aws_sdk_sns::Client,
        ses: aws_sdk_sesv2::Client,
        from: &str,
        sender_id: Option<String>,
    ) -> Self {
        Self {
            sns,
            ses,
            from: from.to_owned(),
            sender_id,
        }
    }

    /// Makes `domain` a sending identity if it is not one (for moto, which then lets it send at
    /// once; in AWS the template creates it and DNS verifies it).
    pub async fn ensure_identity(
        ses: &aws_sdk_sesv2::Client,
        domain: &str,
    ) -> Result<(), NotifyError> {
        if ses
            .get_email_identity()
            .email_identity(domain)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        ses.create_email_identity()
            .email_identity(domain)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed(aws_sdk_sesv2::error::DisplayErrorContext(e)))
    }
}

#[async_trait]
impl Notifier for AwsNotifier {
    async fn send(&self, envelope: &Envelope, message: &Message) -> Result<(), NotifyError> {
        match message {
            Message::Sms { to, body } => {
                let mut r = self
                    .sns
                    .publish()
                    .phone_number(to)
                    .message(body)
                    .message_attributes("AWS.SNS.SMS.SMSType", attr("Transactional")?);
                if let Some(id) = &self.sender_id {
                    r = r.message_attributes("AWS.SNS.SMS.SenderID", attr(id)?);
                }
                r.send()
                    .await
                    .map(|_| ())
                    .map_err(|e| failed(aws_sdk_sns::error::DisplayErrorContext(e)))
            }
            Message::Email { to, subject, body } => {
                let content = aws_sdk_sesv2::types::Message::builder()
                    .subject(text(subject)?)
                    .body(Body::builder().text(text(body)?).build())
                    .build();
                self.ses
                    .send_email()
                    .from_email_address(&self.from)
                    .destination(Destination::builder().to_addresses(to).build())
                    .content(EmailContent::builder().simple(content).build())
                    .email_tags(tag("purpose", &envelope.purpose)?)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| failed(aws_sdk_sesv2::error::DisplayErrorContext(e)))
            }
        }
    }
}
