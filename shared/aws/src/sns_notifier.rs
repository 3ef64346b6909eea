//! SMS and email through SNS: an SMS goes straight to the recipient's E.164 number as a
//! transactional message; an email is published to the topic with a `recipient` attribute, so
//! each person's email subscription filters to their own messages.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use kikao_core::ports::{Envelope, Message, Notifier, NotifyError};

pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
    sender_id: Option<String>,
}

fn attr(v: &str) -> Result<MessageAttributeValue, NotifyError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .map_err(|e| NotifyError(e.to_string()))
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: &str, sender_id: Option<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.to_owned(),
            sender_id,
        }
    }

    /// Creates the email topic if missing (for moto); returns its ARN.
    pub async fn ensure_topic(client: &Client, name: &str) -> Result<String, NotifyError> {
        let out = client
            .create_topic()
            .name(name)
            .send()
            .await
            .map_err(|e| NotifyError(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))?;
        out.topic_arn
            .ok_or_else(|| NotifyError("no topic ARN".into()))
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn send(&self, envelope: &Envelope, message: &Message) -> Result<(), NotifyError> {
        let req = match message {
            Message::Sms { to, body } => {
                let mut r = self
                    .client
                    .publish()
                    .phone_number(to)
                    .message(body)
                    .message_attributes("AWS.SNS.SMS.SMSType", attr("Transactional")?);
                if let Some(id) = &self.sender_id {
                    r = r.message_attributes("AWS.SNS.SMS.SenderID", attr(id)?);
                }
                r
            }
            Message::Email {
                to: _,
                subject,
                body,
            } => self
                .client
                .publish()
                .topic_arn(&self.topic_arn)
                .subject(subject)
                .message(body)
                .message_attributes("recipient", attr(envelope.recipient.as_str())?)
                .message_attributes("purpose", attr(&envelope.purpose)?),
        };
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| NotifyError(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))
    }
}
